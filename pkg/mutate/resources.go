// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// injectedResources are the requests and limits of each injected
// container, sized for what it does: init-mysql and install-helper copy a
// few files; clone-mysql runs a temporary server (its buffer pool held to
// 128M) or prepares a backup (100M); the sidecar streams a backup; the
// exporter reads status once a scrape. A
// namespace with a ResourceQuota admits no pod without them.
var injectedResources = map[string]corev1.ResourceRequirements{
	contract.InitMySQLContainer:  requirements("10m", "32Mi", "200m", "128Mi"),
	contract.HelperInitContainer: requirements("10m", "16Mi", "100m", "64Mi"),
	contract.CloneMySQLContainer: requirements("100m", "256Mi", "2", "1Gi"),
	contract.SidecarContainer:    requirements("100m", "100Mi", "1", "512Mi"),
	contract.MetricsContainer:    requirements("10m", "32Mi", "200m", "128Mi"),
}

func requirements(cpuRequest, memoryRequest, cpuLimit, memoryLimit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuRequest), corev1.ResourceMemory: resource.MustParse(memoryRequest)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLimit), corev1.ResourceMemory: resource.MustParse(memoryLimit)},
	}
}

// resourcesOf is what injected container name gets: its defaults, each
// request or limit overridden by the StatefulSet's annotation for it.
func resourcesOf(name string, annotations map[string]string) (corev1.ResourceRequirements, error) {
	defaults := injectedResources[name]
	r := *defaults.DeepCopy()
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		for kind, list := range map[string]corev1.ResourceList{"request": r.Requests, "limit": r.Limits} {
			key := contract.ResourceAnnotation(name, string(res), kind)
			value, ok := annotations[key]
			if !ok {
				continue
			}
			q, err := resource.ParseQuantity(value)
			if err != nil || q.Sign() <= 0 {
				return r, inputErrorf(ReasonResources, "annotation %s: %q is not a positive quantity (write for example 250m or 1 for CPU, 512Mi or 2Gi for memory)", key, value)
			}
			list[res] = q
		}
		if request, limit := r.Requests[res], r.Limits[res]; request.Cmp(limit) > 0 {
			return r, inputErrorf(ReasonResources, "container %s: its %s request %s is above its limit %s; set %s or %s so that the request is at most the limit",
				name, res, request.String(), limit.String(), contract.ResourceAnnotation(name, string(res), "request"), contract.ResourceAnnotation(name, string(res), "limit"))
		}
	}
	return r, nil
}

// injectedResourcesOf is resourcesOf for every injected container.
func injectedResourcesOf(annotations map[string]string) (map[string]corev1.ResourceRequirements, error) {
	all := map[string]corev1.ResourceRequirements{}
	for name := range injectedResources {
		r, err := resourcesOf(name, annotations)
		if err != nil {
			return nil, err
		}
		all[name] = r
	}
	return all, nil
}
