// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// exporterUser is the uid the exporter runs as: nobody, as in the
// exporter's own image.
const exporterUser = 65534

// MetricsEnabled reads the StatefulSet's contract.MetricsAnnotation:
// "true" adds the exporter, "false" or none does not.
func MetricsEnabled(sts *appsv1.StatefulSet) (bool, error) {
	switch v, ok := sts.Annotations[contract.MetricsAnnotation]; {
	case !ok || v == "false":
		return false, nil
	case v == "true":
		return true, nil
	default:
		return false, inputErrorf(ReasonMetrics, "annotation %s=%q: use \"true\" or \"false\"", contract.MetricsAnnotation, v)
	}
}

var metricsMount = corev1.VolumeMount{Name: contract.MetricsVolume, MountPath: contract.MetricsDir, ReadOnly: true}

// metricsVolume holds the exporter's option file, in memory.
func metricsVolume() corev1.Volume {
	return corev1.Volume{Name: contract.MetricsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("1Mi")),
	}}}
}

// exporter adds the Prometheus mysqld_exporter: it reads the server over
// 127.0.0.1 as contract.MetricsUser, with the options init-mysql wrote,
// and serves /metrics on contract.MetricsPort. It has no probes: the
// database pod's readiness is the server's alone.
func (inj *injector) exporter() {
	want := corev1.Container{
		Name:  contract.MetricsContainer,
		Image: inj.cfg.ExporterImage,
		Args: []string{
			"--config.my-cnf=" + contract.MetricsDir + "/" + contract.MetricsOptionName,
			fmt.Sprintf("--web.listen-address=:%d", contract.MetricsPort),
		},
		Ports:           []corev1.ContainerPort{{Name: contract.MetricsPortName, ContainerPort: contract.MetricsPort}},
		VolumeMounts:    []corev1.VolumeMount{metricsMount},
		SecurityContext: restricted(exporterUser),
		Resources:       inj.resources[contract.MetricsContainer],
	}
	spec := &inj.sts.Spec.Template.Spec
	spec.Containers = keepOrAppend(inj, partContainer, spec.Containers, want, containerNamed)
}
