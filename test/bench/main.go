// Command bench measures the webhook side by side in one run and prints a
// report, then one "name: value" line per figure. `make bench` runs it and
// writes the report to BENCHMARKS.md.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	ctrladmission "sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/go-logr/logr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/testcerts"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/testnet"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/admission"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/server"
)

const noopPath = "/noop"

type figures struct {
	names  []string
	values map[string]string
}

func (f *figures) set(name string, format string, v any) {
	if f.values == nil {
		f.values = map[string]string{}
	}
	if _, ok := f.values[name]; !ok {
		f.names = append(f.names, name)
	}
	f.values[name] = fmt.Sprintf(format, v)
}

func main() {
	samplePath := flag.String("sample", "pkg/mutate/testdata/minimal.yaml", "StatefulSet to admit")
	sequential := flag.Int("sequential", 3000, "sequential admissions for the latency figures")
	rounds := flag.Int("rounds", 3, "alternating throughput rounds")
	roundTime := flag.Duration("round-time", 3*time.Second, "duration of one throughput round")
	creates := flag.Int("creates", 200, "StatefulSet creates per kind for the API server figures")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		out, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(out)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	logf.SetLogger(logr.Discard())
	var f figures
	if err := run(&f, *samplePath, *sequential, *rounds, *roundTime, *creates); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	fmt.Println()
	for _, n := range f.names {
		fmt.Printf("%s: %s\n", n, f.values[n])
	}
}

func run(f *figures, samplePath string, sequential, rounds int, roundTime time.Duration, creates int) error {
	raw, err := os.ReadFile(samplePath)
	if err != nil {
		return err
	}
	var sample appsv1.StatefulSet
	if err := yaml.UnmarshalStrict(raw, &sample); err != nil {
		return err
	}
	sampleJSON, err := json.Marshal(&sample)
	if err != nil {
		return err
	}
	body, err := reviewBody(sampleJSON)
	if err != nil {
		return err
	}

	// A webhook server as the manager runs it, with the real mutator and a
	// no-op handler on the same server code.
	certDir, err := os.MkdirTemp("", "bench-certs")
	if err != nil {
		return err
	}
	defer os.RemoveAll(certDir)
	ca, err := testcerts.NewCA("bench")
	if err != nil {
		return err
	}
	serving, err := ca.Issue()
	if err != nil {
		return err
	}
	if err := serving.WriteTo(certDir); err != nil {
		return err
	}
	port, err := testnet.FreePort()
	if err != nil {
		return err
	}
	srv := webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir, TLSOpts: []func(*tls.Config){server.TLSOptions}})
	mutator := admission.NewStatefulSetMutator(mutate.DefaultConfig())
	srv.Register(admission.Path, mutator.Webhook())
	srv.Register(noopPath, &ctrladmission.Webhook{Handler: ctrladmission.HandlerFunc(func(context.Context, ctrladmission.Request) ctrladmission.Response {
		return ctrladmission.Allowed("")
	})})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Start(ctx) }()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	httpClient := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	if err := waitServing(httpClient, base+noopPath, body); err != nil {
		return err
	}

	fmt.Printf("machine: %s\n", machine())
	fmt.Printf("sample: %s\n\n", samplePath)

	// Latency, sequential.
	for i := 0; i < 200; i++ {
		if _, err := post(httpClient, base+admission.Path, body); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, 0, sequential)
	for i := 0; i < sequential; i++ {
		start := time.Now()
		patched, err := post(httpClient, base+admission.Path, body)
		if err != nil {
			return err
		}
		if !patched {
			return fmt.Errorf("the sample was not patched")
		}
		lat = append(lat, time.Since(start))
	}
	noopLat := make([]time.Duration, 0, sequential)
	for i := 0; i < sequential; i++ {
		start := time.Now()
		if _, err := post(httpClient, base+noopPath, body); err != nil {
			return err
		}
		noopLat = append(noopLat, time.Since(start))
	}
	fmt.Printf("no-op admission over HTTPS, %d sequential requests: p50 %.3f ms, p99 %.3f ms\n", sequential, ms(percentile(noopLat, 50)), ms(percentile(noopLat, 99)))
	f.set("admission_noop_p50_ms", "%.3f", ms(percentile(noopLat, 50)))
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	fmt.Printf("admission over HTTPS, %d sequential requests: p50 %.3f ms, p99 %.3f ms (goal p99 <= 1 ms)\n", sequential, ms(p50), ms(p99))
	f.set("admission_p50_ms", "%.3f", ms(p50))
	f.set("admission_p99_ms", "%.3f", ms(p99))

	// Throughput at concurrency 32, alternating with the no-op handler.
	var ours, noop []float64
	var errors int64
	var rssMax float64
	for r := 0; r < rounds; r++ {
		for _, path := range []string{admission.Path, noopPath} {
			rps, errs, rss := throughput(httpClient, base+path, body, 32, roundTime)
			errors += errs
			rssMax = max(rssMax, rss)
			if path == noopPath {
				noop = append(noop, rps)
			} else {
				ours = append(ours, rps)
			}
			fmt.Printf("  round %d %-28s %8.0f req/s, %d errors\n", r+1, path, rps, errs)
		}
	}
	oursMed, noopMed := median(ours), median(noop)
	fmt.Printf("throughput at concurrency 32: %.0f req/s, no-op %.0f req/s, ratio %.2f (goal >= 0.8), %d errors\n", oursMed, noopMed, oursMed/noopMed, errors)
	f.set("throughput_rps", "%.0f", oursMed)
	f.set("throughput_noop_rps", "%.0f", noopMed)
	f.set("throughput_ratio_vs_noop", "%.2f", oursMed/noopMed)
	f.set("throughput_errors", "%d", errors)

	// Mutation and patch of a StatefulSet with 1000 variables.
	big := sample.DeepCopy()
	for i := 0; i < 1000; i++ {
		big.Spec.Template.Spec.Containers[0].Env = append(big.Spec.Template.Spec.Containers[0].Env,
			corev1.EnvVar{Name: fmt.Sprintf("VAR_%d", i), Value: strconv.Itoa(i)})
	}
	bigRaw, err := json.Marshal(big)
	if err != nil {
		return err
	}
	var bigTimes []time.Duration
	for i := 0; i < 50; i++ {
		start := time.Now()
		res, err := mutate.DefaultConfig().Inject(big, nil)
		if err != nil {
			return err
		}
		if _, err := admission.Patch(bigRaw, big, res.StatefulSet); err != nil {
			return err
		}
		bigTimes = append(bigTimes, time.Since(start))
	}
	m1000 := ms(percentile(bigTimes, 50))
	fmt.Printf("mutate + patch, 1000 env vars: median %.3f ms (goal <= 10 ms)\n", m1000)
	f.set("mutate_1000env_ms", "%.3f", m1000)

	// What the answer for the sample carries.
	answer := mutator.Handle(context.Background(), ctrladmission.Request{
		AdmissionRequest: admissionv1.AdmissionRequest{
			UID: "bench", Operation: admissionv1.Create, Namespace: "default",
			Kind:   metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"},
			Object: k8sruntime.RawExtension{Raw: sampleJSON},
		},
	})
	patchJSON, err := json.Marshal(answer.Patches)
	if err != nil {
		return err
	}
	fmt.Printf("patch for the sample: %d operations, %d bytes\n", len(answer.Patches), len(patchJSON))
	f.set("patch_operations", "%d", len(answer.Patches))
	f.set("patch_bytes", "%d", len(patchJSON))

	// Allocation per admission, through the handler's HTTP code in-process.
	allocs := allocPerAdmission(mutator.Webhook(), body, 2000)
	fmt.Printf("allocated per admission: %.0f bytes\n", allocs)
	f.set("alloc_bytes_per_admission", "%.0f", allocs)
	fmt.Printf("RSS of this process under load: %.1f MB\n", rssMax)
	f.set("rss_mb_under_load", "%.1f", rssMax)

	// Creates through the API server: webhook in the path or not.
	if creates == 0 {
		return nil
	}
	return apiserverFigures(f, &sample, creates)
}

// reviewBody wraps an object, encoded as the API server encodes it, in an
// AdmissionReview.
func reviewBody(obj []byte) ([]byte, error) {
	return json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid": "bench", "operation": "CREATE", "namespace": "default",
			"kind":     map[string]string{"group": "apps", "version": "v1", "kind": "StatefulSet"},
			"resource": map[string]string{"group": "apps", "version": "v1", "resource": "statefulsets"},
			"object":   json.RawMessage(obj),
		},
	})
}

// post sends one AdmissionReview and says whether the answer carried a patch.
func post(c *http.Client, url string, body []byte) (bool, error) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	raw, err := io.ReadAll(resp.Body) // read to the end, so the connection is reused
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(raw, &review); err != nil {
		return false, err
	}
	if review.Response == nil || !review.Response.Allowed {
		return false, fmt.Errorf("not allowed: %+v", review.Response)
	}
	return len(review.Response.Patch) > 0, nil
}

func waitServing(c *http.Client, url string, body []byte) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := post(c, url, body)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the webhook server did not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func throughput(c *http.Client, url string, body []byte, workers int, d time.Duration) (rps float64, errs int64, rssMB float64) {
	var done, failed atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := c.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(d / 2)
	rssMB = rss()
	wg.Wait()
	return float64(done.Load()) / d.Seconds(), failed.Load(), rssMB
}

func allocPerAdmission(h http.Handler, body []byte, n int) float64 {
	serve := func() {
		req, _ := http.NewRequest(http.MethodPost, admission.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(discardWriter{}, req)
	}
	for i := 0; i < 100; i++ {
		serve()
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		serve()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

func apiserverFigures(f *figures, sample *appsv1.StatefulSet, n int) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make bench`")
	}
	env := &envtest.Environment{WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("config", "webhook")}}}
	cfg, err := env.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 1000, 2000
	wio := env.WebhookInstallOptions
	mgr, err := server.New(cfg, server.Options{
		WebhookHost: wio.LocalServingHost, WebhookPort: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		MetricsAddr: "0", ProbeAddr: "0", DisableReconciler: true, Mutation: mutate.DefaultConfig(),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = mgr.Start(ctx) }()
	c, err := client.New(cfg, client.Options{Scheme: server.NewScheme()})
	if err != nil {
		return err
	}
	create := func(i int, labeled bool) (time.Duration, error) {
		sts := sample.DeepCopy()
		sts.Namespace = "default"
		sts.Name = fmt.Sprintf("bench-%d-%t", i, labeled)
		if !labeled {
			delete(sts.Labels, mutate.EnabledLabel)
		}
		start := time.Now()
		err := c.Create(ctx, sts)
		return time.Since(start), err
	}
	// Warm up both paths until the webhook answers.
	deadline := time.Now().Add(time.Minute)
	for i := 0; ; i++ {
		if _, err := create(-1-i, true); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("creates through the webhook fail: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 50; i++ {
		if _, err := create(100000+i, false); err != nil {
			return err
		}
	}
	// The same completed object, created without the webhook in its path:
	// what storing the bigger object costs by itself.
	res, err := mutate.DefaultConfig().Inject(sample, nil)
	if err != nil {
		return err
	}
	createInjected := func(i int) (time.Duration, error) {
		sts := res.StatefulSet.DeepCopy()
		sts.Namespace = "default"
		sts.Name = fmt.Sprintf("bench-%d-injected", i)
		delete(sts.Labels, mutate.EnabledLabel)
		start := time.Now()
		err := c.Create(ctx, sts)
		return time.Since(start), err
	}
	var with, without, same []time.Duration
	for i := 0; i < n; i++ {
		d, err := create(i, true)
		if err != nil {
			return err
		}
		with = append(with, d)
		if d, err = create(i, false); err != nil {
			return err
		}
		without = append(without, d)
		if d, err = createInjected(i); err != nil {
			return err
		}
		same = append(same, d)
	}
	pWith, pWithout, pSame := ms(percentile(with, 50)), ms(percentile(without, 50)), ms(percentile(same, 50))
	fmt.Printf("StatefulSet create through the API server, %d each, alternating:\n", n)
	fmt.Printf("  labeled, through the webhook: p50 %.3f ms\n  unlabeled, no webhook:        p50 %.3f ms  (ratio %.2f, goal <= 1.3)\n", pWith, pWithout, pWith/pWithout)
	fmt.Printf("  the completed object, no webhook: p50 %.3f ms  (ratio %.2f: the webhook call alone)\n", pSame, pWith/pSame)
	f.set("apiserver_create_p50_ms", "%.3f", pWith)
	f.set("apiserver_create_noop_p50_ms", "%.3f", pWithout)
	f.set("apiserver_create_overhead_ratio", "%.2f", pWith/pWithout)
	f.set("apiserver_create_same_object_p50_ms", "%.3f", pSame)
	f.set("apiserver_create_overhead_ratio_same_object", "%.2f", pWith/pSame)
	return nil
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func rss() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if kb, err := strconv.ParseFloat(strings.Fields(line)[1], 64); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
		}
	}
	return fmt.Sprintf("%d cores (%s)%s, %s %s/%s", runtime.NumCPU(), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
