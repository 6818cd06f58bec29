// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package reliability

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/webhooks"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
)

func TestLoad(t *testing.T) {
	if current == nil {
		startHook(t)
	}
	ns := namespace(t, "load")
	const total, concurrency = 2000, 32
	var errs atomic.Int64
	var firstErr atomic.Value
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := k8s.Create(context.Background(), statefulSet(ns, fmt.Sprintf("s-%d", i), i%2 == 0)); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	for i := 0; i < total; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if n := errs.Load(); n > 0 {
		t.Fatalf("%d of %d creates failed; first: %v", n, total, firstErr.Load())
	}

	var list appsv1.StatefulSetList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var labeled, unlabeled, wrong int
	for i := range list.Items {
		sts := &list.Items[i]
		switch {
		case sts.Labels[labelKey] == labelValue && injected(sts):
			labeled++
		case sts.Labels[labelKey] == "" && untouched(sts):
			unlabeled++
		default:
			wrong++
		}
	}
	t.Logf("stored %d: %d labeled and injected, %d unlabeled and untouched", len(list.Items), labeled, unlabeled)
	if len(list.Items) != total || labeled != total/2 || unlabeled != total/2 || wrong != 0 {
		t.Fatalf("stored %d (want %d): %d injected, %d untouched, %d wrong", len(list.Items), total, labeled, unlabeled, wrong)
	}
}

const (
	labelKey   = "mysql-replication"
	labelValue = "enabled"
)

func TestSecurity(t *testing.T) {
	if current == nil {
		startHook(t)
	}
	url := "https://" + addr() + webhooks.StatefulSetPath
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // local test server

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}) //nolint:gosec // the point of the test
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})

	t.Run("no plaintext admission", func(t *testing.T) {
		resp, err := http.Post("http://"+addr()+webhooks.StatefulSetPath, "application/json", strings.NewReader(review("CREATE", "x")))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "AdmissionReview") {
			t.Fatalf("plain HTTP was answered: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("request bodies are not logged", func(t *testing.T) {
		marker := "marker-7f3a9c"
		before := len(logs.String())
		resp, err := insecure.Post(url, "application/json", strings.NewReader(review("CREATE", marker)))
		if err != nil {
			t.Fatal(err)
		}
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil || !out.Response.Allowed {
			t.Fatalf("the request was not admitted: %v %+v", err, out.Response)
		}
		resp.Body.Close()
		logged := logs.String()
		if strings.Contains(logged, marker) {
			t.Fatalf("a request body reached the log")
		}
		if len(logged) == 0 || before == 0 {
			t.Fatal("no log was captured at all; the check proves nothing")
		}
	})

	t.Run("oversized requests are refused", func(t *testing.T) {
		huge := review("CREATE", strings.Repeat("x", 8<<20))
		resp, err := insecure.Post(url, "application/json", strings.NewReader(huge))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// Refused before its body is read: no AdmissionReview to answer.
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too large") {
			t.Fatalf("answer %d %s", resp.StatusCode, body)
		}
	})
}

// review is an AdmissionReview for a labeled StatefulSet whose name carries
// value in an annotation.
func review(op, value string) string {
	sts := statefulSet("default", "probe", true)
	sts.Annotations = map[string]string{"note": value}
	obj, _ := json.Marshal(sts)
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": "r1", "operation": op, "namespace": "default",
			"kind":     map[string]string{"group": "apps", "version": "v1", "kind": "StatefulSet"},
			"resource": map[string]string{"group": "apps", "version": "v1", "resource": "statefulsets"},
			"object":   json.RawMessage(obj),
		},
	})
	return string(b)
}

// flow creates labeled StatefulSets until stop is closed, counting results.
type flow struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	stop       chan struct{}
	done       sync.WaitGroup
}

func startFlow(ns string, workers int, labeled func(i int) bool, record func(i int, labeled bool, err error)) *flow {
	f := &flow{stop: make(chan struct{})}
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		f.done.Add(1)
		go func() {
			defer f.done.Done()
			for {
				select {
				case <-f.stop:
					return
				default:
				}
				i := int(next.Add(1))
				l := labeled(i)
				err := k8s.Create(context.Background(), statefulSet(ns, fmt.Sprintf("f-%d", i), l))
				if err != nil {
					f.failed.Add(1)
					f.mu.Lock()
					f.errs = append(f.errs, err.Error())
					f.mu.Unlock()
				} else {
					f.ok.Add(1)
				}
				if record != nil {
					record(i, l, err)
				}
			}
		}()
	}
	return f
}

func (f *flow) end() {
	close(f.stop)
	f.done.Wait()
}

func TestCertificateRotation(t *testing.T) {
	if current == nil {
		startHook(t)
	}
	ctx := context.Background()
	ns := namespace(t, "rotation")
	wio := env.WebhookInstallOptions

	ca, err := testcerts.NewCA("rotated-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	setCABundle := func(bundle []byte) {
		for _, w := range wio.MutatingWebhooks {
			var cfgObj admissionregistrationv1.MutatingWebhookConfiguration
			if err := k8s.Get(ctx, client.ObjectKey{Name: w.GetName()}, &cfgObj); err != nil {
				t.Fatal(err)
			}
			for i := range cfgObj.Webhooks {
				cfgObj.Webhooks[i].ClientConfig.CABundle = bundle
			}
			if err := k8s.Update(ctx, &cfgObj); err != nil {
				t.Fatal(err)
			}
		}
	}
	// As cert-manager's CA injector would: first the old and the new CA.
	setCABundle(append(append([]byte{}, wio.LocalServingCAData...), ca.CertPEM...))
	time.Sleep(8 * time.Second) // let the API server observe the new bundle before the swap

	f := startFlow(ns, 4, func(int) bool { return true }, nil)
	waitFor(t, "creates before the swap", func() bool { return f.ok.Load() >= 20 })
	if err := serving.WriteTo(wio.LocalServingCertDir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new certificate to be served", func() bool {
		conn, err := tls.Dial("tcp", addr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading the served certificate
		if err != nil {
			return false
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Cmp(serving.Serial) == 0
	})
	after := f.ok.Load()
	waitFor(t, "creates after the swap", func() bool { return f.ok.Load() >= after+20 })
	f.end()
	if n := f.failed.Load(); n > 0 {
		t.Fatalf("%d requests failed during the rotation: %v", n, f.errs[0])
	}

	// The served certificate verifies against the new CA alone.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	conn, err := tls.Dial("tcp", addr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("the served certificate does not verify against the new CA: %v", err)
	}
	conn.Close()
	setCABundle(ca.CertPEM)
	time.Sleep(2 * time.Second)
	if err := k8s.Create(ctx, statefulSet(ns, "after-rotation", true)); err != nil {
		t.Fatalf("create with the new CA only: %v", err)
	}
	t.Logf("%d creates succeeded during the rotation, none failed", f.ok.Load())
}

func TestFailClosed(t *testing.T) {
	if current == nil {
		startHook(t)
	}
	ctx := context.Background()
	ns := namespace(t, "failclosed")
	var unlabeledFailures, labeledDuringOutage atomic.Int64
	var outage atomic.Bool
	f := startFlow(ns, 8, func(i int) bool { return i%2 == 0 }, func(_ int, labeled bool, err error) {
		if !labeled && err != nil {
			unlabeledFailures.Add(1)
		}
		if labeled && err != nil && outage.Load() {
			labeledDuringOutage.Add(1)
		}
	})
	waitFor(t, "creates before the outage", func() bool { return f.ok.Load() >= 40 })
	outage.Store(true)
	stopHook(t)
	waitFor(t, "labeled creates rejected during the outage", func() bool { return labeledDuringOutage.Load() >= 10 })
	okDuring := f.ok.Load()
	waitFor(t, "unlabeled creates during the outage", func() bool { return f.ok.Load() >= okDuring+10 })
	f.end()

	var list appsv1.StatefulSetList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var stored, uninjected int
	for i := range list.Items {
		sts := &list.Items[i]
		if sts.Labels[labelKey] == labelValue {
			stored++
			if !injected(sts) {
				uninjected++
			}
		}
	}
	t.Logf("%d labeled stored injected, %d labeled rejected during the outage, %d unlabeled failures", stored, labeledDuringOutage.Load(), unlabeledFailures.Load())
	if uninjected > 0 {
		t.Fatalf("%d labeled StatefulSets were stored uninjected", uninjected)
	}
	if n := unlabeledFailures.Load(); n > 0 {
		t.Fatalf("%d unlabeled creates failed; the objectSelector should keep them out of the webhook's path", n)
	}

	startHook(t)
	var created *appsv1.StatefulSet
	waitFor(t, "labeled creates to succeed again", func() bool {
		created = statefulSet(ns, fmt.Sprintf("after-%d", time.Now().UnixNano()), true)
		return k8s.Create(ctx, created) == nil
	})
	if !injected(created) {
		t.Fatal("the first create after the restart was not injected")
	}
	_ = bytes.MinRead
}
