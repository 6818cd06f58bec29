// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package envtest

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// metricsGet fetches /metrics from the manager with the given scheme and
// bearer token, and returns the status code and the body.
func metricsGet(scheme, token string) (int, string, error) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // self-signed test server
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+metricsAddr+"/metrics", nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// serviceAccountToken creates a ServiceAccount in ns and returns a token for it.
func serviceAccountToken(ns, name string) string {
	GinkgoHelper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	Expect(k8sClient.Create(ctx, sa)).To(Succeed())
	expiry := int64(600)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
	Expect(k8sClient.SubResource("token").Create(ctx, sa, req)).To(Succeed())
	Expect(req.Status.Token).NotTo(BeEmpty())
	return req.Status.Token
}

var _ = Describe("the metrics endpoint", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("serves HTTPS only, to clients the API server authorizes through the metrics-reader ClusterRole", func() {
		Eventually(func() (int, error) {
			code, _, err := metricsGet("https", "")
			return code, err
		}).WithTimeout(30 * time.Second).Should(Equal(http.StatusUnauthorized))

		code, _, err := metricsGet("http", "")
		Expect(err == nil && code == http.StatusOK).To(BeFalse(), "plain HTTP answered %d", code)

		scraper := serviceAccountToken(ns, "scraper")
		code, _, err = metricsGet("https", scraper)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusForbidden))

		// The shipped ClusterRole, bound to the scraper.
		raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "metrics_reader_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		reader := &rbacv1.ClusterRole{}
		Expect(yaml.UnmarshalStrict(raw, reader)).To(Succeed())
		reader.Name = ns + "-metrics-reader"
		Expect(k8sClient.Create(ctx, reader)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, reader)).To(Succeed()) })
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: ns}},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, binding)).To(Succeed()) })

		// Authorization decisions are cached by the filter for a short while.
		Eventually(func() (int, error) {
			code, _, err := metricsGet("https", scraper)
			return code, err
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Equal(http.StatusOK))
		_, body, err := metricsGet("https", scraper)
		Expect(err).NotTo(HaveOccurred())
		Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))

		// The webhooks' own: a StatefulSet completed and one denied
		// through the API server are counted, with the denial's reason.
		Expect(k8sClient.Create(ctx, minimal(ns))).To(Succeed())
		badLag := minimal(ns)
		badLag.Name = "bad-lag"
		badLag.Annotations = map[string]string{contract.MaxLagAnnotation: "1m"}
		Expect(k8sClient.Create(ctx, badLag)).To(MatchError(ContainSubstring("is not a whole number of seconds")))
		_, body, err = metricsGet("https", scraper)
		Expect(err).NotTo(HaveOccurred())
		for _, series := range []string{
			`mysql_replication_admissions_total{outcome="completed",reason="",webhook="statefulset"}`,
			`mysql_replication_admissions_total{outcome="denied",reason="readiness",webhook="statefulset"}`,
			`mysql_replication_admission_duration_seconds_count{outcome="completed",webhook="statefulset"}`,
		} {
			Expect(body).To(MatchRegexp(`(?m)^`+regexp.QuoteMeta(series)+` [1-9]`), "series %s", series)
		}
	})
})
