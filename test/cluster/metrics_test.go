// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// withMetrics sets the metrics annotation on a sample: its pods get the
// exporter.
func withMetrics(u *unstructured.Unstructured) {
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[contract.MetricsAnnotation] = "true"
	u.SetAnnotations(annotations)
}

// lagSeries is a replica's lag as mysqld_exporter names it: after the
// master, or (SHOW REPLICA STATUS of MySQL 8.4 and 9.x) the source.
var lagSeries = regexp.MustCompile(`(?m)^mysql_slave_status_seconds_behind_(master|source)\{.*\} [0-9.e+-]+$`)

// scrapeExporters reads /metrics from the exporter of each pod of d
// through the API server's pod proxy: the server is up on every pod and
// each replica's lag is there.
func scrapeExporters(ctx context.Context, t *testing.T, c *Cluster, d DB, pods int) {
	t.Helper()
	for i := range pods {
		pod := fmt.Sprintf("%s-%d", d.Name, i)
		var body string
		err := Poll(ctx, 2*time.Minute, pod+"'s exporter answers with the server up", func() (bool, error) {
			raw, err := c.Client.CoreV1().Pods(ns).ProxyGet("http", pod, strconv.Itoa(contract.MetricsPort), "metrics", nil).DoRaw(ctx)
			body = string(raw)
			return err == nil && regexp.MustCompile(`(?m)^mysql_up 1$`).MatchString(body) && (i == 0 || lagSeries.MatchString(body)), nil
		})
		if err != nil {
			t.Errorf("%v\n%s", err, lastLines(body, 20))
			continue
		}
		if i > 0 {
			t.Logf("%s's exporter: %s", pod, lagSeries.FindString(body))
		}
	}
}

// scrapeManagers reads the manager replicas' metrics endpoint as a
// ServiceAccount bound to the install's metrics-reader ClusterRole, as a
// Prometheus would, after a StatefulSet was denied in a dry run: each
// series is summed over the replicas (the API server calls either).
func scrapeManagers(ctx context.Context, t *testing.T, c *Cluster, sample *unstructured.Unstructured) {
	t.Helper()
	// A denial, counted by its reason.
	bad := sample.DeepCopy()
	bad.SetName("e2e-denied")
	annotations := bad.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[contract.MaxLagAnnotation] = "1m"
	bad.SetAnnotations(annotations)
	var sts appsv1.StatefulSet
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(bad.Object, &sts); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.AppsV1().StatefulSets(ns).Create(ctx, &sts, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil ||
		!strings.Contains(err.Error(), "max-lag-seconds") {
		t.Fatalf("a StatefulSet with max-lag-seconds=1m: %v", err)
	}

	const scraper = "e2e-scraper"
	if _, err := c.Client.CoreV1().ServiceAccounts(installNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: scraper}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: scraper},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "mysql-replication-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: scraper, Namespace: installNS}},
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	token, err := c.Client.CoreV1().ServiceAccounts(installNS).CreateToken(ctx, scraper, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	managers, err := c.Client.CoreV1().Pods(installNS).List(ctx, metav1.ListOptions{LabelSelector: "control-plane=controller-manager"})
	if err != nil {
		t.Fatal(err)
	}
	// The test checks the counters; the endpoint's TLS and authorization
	// are envtest's (test/envtest/metrics_test.go).
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	want := []string{
		`mysql_replication_admissions_total{outcome="completed",reason="",webhook="statefulset"}`,
		`mysql_replication_admissions_total{outcome="completed",reason="",webhook="pod"}`,
		`mysql_replication_admissions_total{outcome="denied",reason="readiness",webhook="statefulset"}`,
		`mysql_replication_admission_duration_seconds_count{outcome="completed",webhook="statefulset"}`,
		`mysql_replication_admission_warnings_total{webhook="statefulset"}`,
		`controller_runtime_webhook_requests_total{code="200",webhook="/mutate-apps-v1-statefulset"}`,
		`controller_runtime_webhook_requests_total{code="200",webhook="/mutate-v1-pod"}`,
	}
	var series map[string]float64
	err = Poll(ctx, 2*time.Minute, "the managers' metrics", func() (bool, error) {
		series = map[string]float64{}
		for _, s := range want {
			series[s] = 0
		}
		for _, p := range managers.Items {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://%s:8443/metrics", p.Status.PodIP), nil)
			if err != nil {
				return false, err
			}
			req.Header.Set("Authorization", "Bearer "+token.Status.Token)
			resp, err := client.Do(req)
			if err != nil {
				return false, nil
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return false, nil
			}
			for s := range series {
				series[s] += seriesValue(string(body), s)
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for s, v := range series {
		t.Logf("%s %v (both managers)", s, v)
		if v < 1 && !strings.Contains(s, "warnings") {
			t.Errorf("%s is %v across the managers", s, v)
		}
	}
}

// seriesValue is the value of one series in a Prometheus text exposition,
// 0 where it is absent.
func seriesValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return v
		}
	}
	return 0
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
