// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench measures the webhook side by side in one run and prints a
// report, then one "name: value" line per figure. `make bench` runs it and
// writes the report to BENCHMARKS.md.
//
// Every figure is measured in rounds; in each round the things compared run
// one after the other (the handler and its floor, the webhook, the no-op
// webhook and the canned answer, creates through the webhook, with no
// webhook and through a MutatingAdmissionPolicy), so a ratio is taken
// within a round and the
// rounds give its median and spread.
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
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/go-logr/logr"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/patch"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/server"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/internal/webhooks"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/mutate"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/fixtures"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/controlplane"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testcerts"
	"github.com/mysql-replication-webhook/mysql-replication-webhook/test/rig/testnet"
)

// The webhook server serves, besides the mutator: a no-op webhook that
// allows everything, and one that answers every request with the answer the
// mutator gives the sample, computed once. The canned answer costs what its
// bytes cost over HTTPS and nothing else: between the no-op and it lies the
// price of the bytes, between it and the mutator the price of computing them.
const (
	noopPath   = "/noop"
	cannedPath = "/canned"
)

var servedPaths = []string{webhooks.StatefulSetPath, noopPath, cannedPath}

// The noise rule: a run is noisy when other processes used the machine
// while it ran, or when the no-op webhook, which does the same work in every
// round, does not keep its throughput across rounds. The no-op's sequential
// p50 is printed but not part of the rule: a request alternating between
// goroutines of one process on two cores is answered in one of two times
// (about 0.06 or 0.10 ms here), by whether the runtime's threads were awake,
// from round to round on an idle machine too.
const (
	noisyNoopSpread = 0.15 // (max-min)/median of the no-op's throughput across rounds
	noisyOtherCPU   = 0.10 // share of all cores used by processes outside this one and its children
)

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

// ratio records a ratio measured once per round: its median as name, its
// spread ((max-min)/median) as name_spread.
func (f *figures) ratio(name string, rounds []float64) (med, lo, hi float64) {
	med, lo, hi = median(rounds), slices.Min(rounds), slices.Max(rounds)
	f.set(name, "%.2f", med)
	f.set(name+"_spread", "%.2f", (hi-lo)/med)
	return med, lo, hi
}

type options struct {
	sample     string
	rounds     int
	sequential int
	roundTime  time.Duration
	goTime     time.Duration
	creates    int
	policyOut  string
	// tputProfile receives a CPU profile of the webhook's first throughput
	// measurement: client and server of one process, at concurrency 32.
	tputProfile string
}

func main() {
	var o options
	flag.StringVar(&o.sample, "sample", fixtures.Dir+"/minimal.yaml", "StatefulSet to admit")
	flag.IntVar(&o.rounds, "rounds", 5, "side-by-side rounds")
	flag.IntVar(&o.sequential, "sequential", 1000, "sequential admissions of each webhook per round")
	flag.DurationVar(&o.roundTime, "round-time", 2*time.Second, "duration of one throughput measurement")
	flag.DurationVar(&o.goTime, "go-time", 300*time.Millisecond, "duration of one in-process handler measurement")
	flag.IntVar(&o.creates, "creates", 50, "StatefulSet creates of each kind per round (0: no API server figures)")
	flag.StringVar(&o.policyOut, "policy-out", "", "write the MutatingAdmissionPolicy fixture to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&o.tputProfile, "throughput-profile", "", "write a CPU profile of the webhook's first throughput measurement to this file")
	flag.Parse()
	if *cpuProfile != "" && o.tputProfile != "" {
		fmt.Fprintln(os.Stderr, "bench: -cpuprofile and -throughput-profile exclude each other: a process has one CPU profile at a time")
		os.Exit(2)
	}
	stopProfile, err := startProfile(*cpuProfile, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	logf.SetLogger(logr.Discard())
	var f figures
	err = run(&f, o)
	stopProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Println()
	for _, n := range f.names {
		fmt.Printf("%s: %s\n", n, f.values[n])
	}
}

func run(f *figures, o options) error {
	raw, err := os.ReadFile(o.sample)
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
	cpu := startCPUMeter()

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
	mutator := webhooks.NewStatefulSetMutator(mutate.DefaultConfig())
	srv.Register(webhooks.StatefulSetPath, mutator.Webhook())
	srv.Register(noopPath, &ctrladmission.Webhook{Handler: ctrladmission.HandlerFunc(func(context.Context, ctrladmission.Request) ctrladmission.Response {
		return ctrladmission.Allowed("")
	})})
	canned := mutator.Webhook().Handle(context.Background(), request(admissionv1.Create, sampleJSON, nil))
	if len(canned.Patch) == 0 {
		return fmt.Errorf("the sample was not patched: %+v", canned.Result)
	}
	srv.Register(cannedPath, &ctrladmission.Webhook{Handler: ctrladmission.HandlerFunc(func(context.Context, ctrladmission.Request) ctrladmission.Response {
		return canned
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
	fmt.Printf("sample: %s\n", o.sample)
	fmt.Printf("%d rounds; in each, the figures compared are measured one after the other\n\n", o.rounds)

	handler, err := newHandlerBench(mutator, sampleJSON)
	if err != nil {
		return err
	}
	var api *apiserverBench
	if o.creates > 0 {
		if api, err = startAPIServer(ctx, &sample, mutator); err != nil {
			return err
		}
		defer api.stop()
		if o.policyOut != "" {
			if err := os.WriteFile(o.policyOut, api.policyYAML, 0o644); err != nil {
				return err
			}
		}
	}

	if err := warm(httpClient, base, body, 200); err != nil {
		return err
	}

	var (
		handleRatio, injectedRatio, injectedOwnRatio []float64
		injectedDecodeRatio                          []float64
		floorNs, handleNs, injectedNs                []float64
		lat, noopLat, cannedLat                      []time.Duration
		latRatio, noopP50, cannedLatRatio            []float64
		ours, noop, tputRatio, cannedTputRatio       []float64
		// The webhook against the canned answer of the same bytes, in
		// each round: what the work costs beyond the answer's size.
		latVsCanned, tputVsCanned                    []float64
		atFloor                                      []float64
		errors                                       int64
		rssMax                                       float64
		creates                                      = map[string][]time.Duration{}
		overhead, sameRatio, policyRatio, policySame []float64
	)
	for r := 0; r < o.rounds; r++ {
		fmt.Printf("round %d:\n", r+1)
		// The handler in-process, against the floor.
		fl, h, inj, injFl, injDec := handler.round(o.goTime)
		floorNs, handleNs, injectedNs = append(floorNs, fl), append(handleNs, h), append(injectedNs, inj)
		handleRatio, injectedRatio, injectedOwnRatio = append(handleRatio, h/fl), append(injectedRatio, inj/fl), append(injectedOwnRatio, inj/injFl)
		injectedDecodeRatio = append(injectedDecodeRatio, injDec/fl)
		fmt.Printf("  in-process: floor %.1f µs, Handle %.1f µs (%.2fx), HandleInjected %.1f µs (%.2fx; %.2fx its own floor of %.1f µs; decoding its request alone %.1f µs, %.2fx the floor)\n",
			fl/1e3, h/1e3, h/fl, inj/1e3, inj/fl, inj/injFl, injFl/1e3, injDec/1e3, injDec/fl)

		// Sequential admissions over HTTPS, alternating request by request,
		// each round from the same state: the throughput phase before
		// leaves dozens of idle connections and a grown heap behind.
		if err := settle(transport, httpClient, base, body); err != nil {
			return err
		}
		var l, nl, cl []time.Duration
		for i := 0; i < o.sequential; i++ {
			for _, path := range servedPaths {
				start := time.Now()
				patched, err := post(httpClient, base+path, body)
				if err != nil {
					return err
				}
				d := time.Since(start)
				switch {
				case path == noopPath:
					nl = append(nl, d)
				case !patched:
					return fmt.Errorf("the sample was not patched")
				case path == cannedPath:
					cl = append(cl, d)
				default:
					l = append(l, d)
				}
			}
		}
		lat, noopLat, cannedLat = append(lat, l...), append(noopLat, nl...), append(cannedLat, cl...)
		p, np, cp := ms(percentile(l, 50)), ms(percentile(nl, 50)), ms(percentile(cl, 50))
		latRatio, noopP50, cannedLatRatio = append(latRatio, p/np), append(noopP50, np), append(cannedLatRatio, cp/np)
		latVsCanned = append(latVsCanned, p/cp)
		fmt.Printf("  sequential over HTTPS: p50 %.3f ms, no-op %.3f ms (%.2fx), canned answer %.3f ms (%.2fx)\n", p, np, p/np, cp, cp/np)

		// Throughput at concurrency 32.
		stopProfile, err := startProfile(o.tputProfile, r == 0)
		if err != nil {
			return err
		}
		rps, errs, rss := throughput(httpClient, base+webhooks.StatefulSetPath, body, 32, o.roundTime)
		stopProfile()
		nrps, nerrs, nrss := throughput(httpClient, base+noopPath, body, 32, o.roundTime)
		crps, cerrs, _ := throughput(httpClient, base+cannedPath, body, 32, o.roundTime)
		errors += errs + nerrs + cerrs
		rssMax = max(rssMax, rss, nrss)
		ours, noop, tputRatio, cannedTputRatio = append(ours, rps), append(noop, nrps), append(tputRatio, rps/nrps), append(cannedTputRatio, crps/nrps)
		tputVsCanned = append(tputVsCanned, rps/crps)
		// The CPU time of one request is cores/throughput: a handler costing
		// exactly the floor, answering the canned bytes, would take the
		// canned answer's time plus the floor's.
		cores := float64(runtime.NumCPU())
		atFloor = append(atFloor, (cores/nrps)/(cores/crps+fl/1e9))
		fmt.Printf("  throughput at concurrency 32: %.0f req/s, no-op %.0f req/s (%.2f), canned answer %.0f req/s (%.2f), %d errors\n",
			rps, nrps, rps/nrps, crps, crps/nrps, errs+nerrs+cerrs)

		// Creates through the API server.
		if api != nil {
			got, err := api.round(ctx, r, o.creates)
			if err != nil {
				return err
			}
			p50 := map[string]float64{}
			for k, d := range got {
				creates[k] = append(creates[k], d...)
				p50[k] = ms(percentile(d, 50))
			}
			overhead = append(overhead, p50["webhook"]/p50["plain"])
			sameRatio = append(sameRatio, p50["webhook"]/p50["same"])
			policyRatio = append(policyRatio, p50["webhook"]/p50["policy"])
			policySame = append(policySame, p50["policy"]/p50["same"])
			fmt.Printf("  create p50: webhook %.3f ms, policy %.3f ms, completed object %.3f ms, user's object %.3f ms\n",
				p50["webhook"], p50["policy"], p50["same"], p50["plain"])
		}
	}
	fmt.Println()

	// The summary: medians over the rounds, with their range.
	show := func(label, name string, rounds []float64, goal string) {
		med, lo, hi := f.ratio(name, rounds)
		fmt.Printf("%-58s %6.2f  (rounds %.2f–%.2f)%s\n", label, med, lo, hi, goal)
	}
	fmt.Printf("in-process, µs per admission of the sample (median of rounds): floor %.1f, Handle %.1f, HandleInjected %.1f\n",
		median(floorNs)/1e3, median(handleNs)/1e3, median(injectedNs)/1e3)
	f.set("floor_us", "%.1f", median(floorNs)/1e3)
	f.set("handle_us", "%.1f", median(handleNs)/1e3)
	f.set("handle_injected_us", "%.1f", median(injectedNs)/1e3)
	show("Handle / floor", "handle_vs_floor_ratio", handleRatio, ", goal <= 3")
	show("HandleInjected / floor", "handle_injected_vs_floor_ratio", injectedRatio, ", goal <= 1.5")
	show("HandleInjected / its own floor (decode and encode 15 KB)", "handle_injected_vs_own_floor_ratio", injectedOwnRatio, "")
	show("decoding HandleInjected's request alone / floor", "injected_decode_vs_floor_ratio", injectedDecodeRatio, "")
	allocs := handler.allocs()
	fmt.Printf("allocations per admission (Handle): %d\n", allocs)
	f.set("allocs_per_admission", "%d", allocs)

	noopLo, noopHi, noopMed := slices.Min(noopP50), slices.Max(noopP50), median(noopP50)
	fmt.Printf("sequential over HTTPS, %d requests each: p50 %.3f ms, p99 %.3f ms; no-op p50 %.3f ms, p99 %.3f ms\n",
		len(lat), ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(percentile(noopLat, 50)), ms(percentile(noopLat, 99)))
	f.set("admission_noop_p50_ms", "%.3f", ms(percentile(noopLat, 50)))
	f.set("admission_noop_p99_ms", "%.3f", ms(percentile(noopLat, 99)))
	f.set("admission_p50_ms", "%.3f", ms(percentile(lat, 50)))
	f.set("admission_p99_ms", "%.3f", ms(percentile(lat, 99)))
	show("admission p50 / no-op p50", "admission_p50_vs_noop_ratio", latRatio, ", goal <= 2")
	f.set("admission_canned_p50_ms", "%.3f", ms(percentile(cannedLat, 50)))
	show("canned answer p50 / no-op p50 (the bytes alone)", "admission_canned_p50_vs_noop_ratio", cannedLatRatio, "")
	show("admission p50 / canned answer p50 (the same bytes)", "p50_vs_canned_ratio", latVsCanned, "")
	f.set("throughput_rps", "%.0f", median(ours))
	f.set("throughput_noop_rps", "%.0f", median(noop))
	show("throughput / no-op throughput, concurrency 32", "throughput_ratio_vs_noop", tputRatio, ", goal >= 0.5")
	show("canned answer throughput / no-op (the bytes alone)", "throughput_canned_ratio_vs_noop", cannedTputRatio, "")
	show("throughput / canned answer throughput (the same bytes)", "throughput_vs_canned_ratio", tputVsCanned, "")
	show("estimate for a handler at the floor: throughput / no-op", "throughput_at_floor_estimate_vs_noop", atFloor, "")
	f.set("throughput_errors", "%d", errors)
	fmt.Printf("throughput: %.0f req/s, no-op %.0f req/s (medians), %d errors\n", median(ours), median(noop), errors)

	// What the answer for the sample carries.
	answer := mutator.Handle(context.Background(), request(admissionv1.Create, sampleJSON, nil))
	patchJSON, err := json.Marshal(answer.Patches)
	if err != nil {
		return err
	}
	fmt.Printf("patch for the sample: %d operations, %d bytes\n", len(answer.Patches), len(patchJSON))
	f.set("patch_operations", "%d", len(answer.Patches))
	f.set("patch_bytes", "%d", len(patchJSON))
	allocBytes := allocPerAdmission(mutator.Webhook(), body, 2000)
	fmt.Printf("allocated per admission through the webhook's HTTP handler: %.0f bytes\n", allocBytes)
	f.set("alloc_bytes_per_admission", "%.0f", allocBytes)
	fmt.Printf("RSS of this process under load: %.1f MB\n", rssMax)
	f.set("rss_mb_under_load", "%.1f", rssMax)

	// Mutation and patch of a StatefulSet with 1000 variables.
	m1000, err := mutate1000(&sample)
	if err != nil {
		return err
	}
	fmt.Printf("mutate + patch, 1000 env vars: median %.3f ms (goal <= 10 ms)\n", m1000)
	f.set("mutate_1000env_ms", "%.3f", m1000)

	if api != nil {
		for _, k := range []string{"webhook", "policy", "same", "plain"} {
			f.set("apiserver_create_"+map[string]string{"webhook": "", "policy": "policy_", "same": "same_object_", "plain": "noop_"}[k]+"p50_ms", "%.3f", ms(percentile(creates[k], 50)))
		}
		fmt.Printf("StatefulSet creates through kube-apiserver, %d of each kind per round, alternating: p50 webhook %.3f ms, policy %.3f ms, completed object with no mutation %.3f ms, user's object with no mutation %.3f ms\n",
			o.creates, ms(percentile(creates["webhook"], 50)), ms(percentile(creates["policy"], 50)), ms(percentile(creates["same"], 50)), ms(percentile(creates["plain"], 50)))
		show("create through the webhook / the user's object, no webhook", "apiserver_create_overhead_ratio", overhead, "")
		show("create through the webhook / the completed object", "apiserver_create_overhead_ratio_same_object", sameRatio, ", goal <= 1.3")
		show("create through the webhook / through the policy", "apiserver_create_webhook_vs_policy_ratio", policyRatio, "")
		show("create through the policy / the completed object", "apiserver_create_policy_vs_same_object_ratio", policySame, "")
	}

	// The noise rule.
	other := cpu.otherShare()
	tputSpread := (slices.Max(noop) - slices.Min(noop)) / median(noop)
	p50Spread := (noopHi - noopLo) / noopMed
	noisy := tputSpread > noisyNoopSpread || other > noisyOtherCPU
	fmt.Printf("noise rule: noisy when other processes used more than %.0f%% of the machine's CPU during the run, "+
		"or the no-op webhook's throughput varies by more than %.0f%% of its median across rounds\n", noisyOtherCPU*100, noisyNoopSpread*100)
	fmt.Printf("  other processes %.0f%% of the CPU, no-op throughput spread %.0f%% (no-op p50 spread %.0f%%, not in the rule): noisy %t\n",
		other*100, tputSpread*100, p50Spread*100, noisy)
	f.set("noop_p50_spread", "%.2f", p50Spread)
	f.set("noop_throughput_spread", "%.2f", tputSpread)
	f.set("other_cpu_share", "%.2f", other)
	f.set("bench_noisy", "%t", noisy)
	return nil
}

// handlerBench runs the handler in-process against its floor: decode the
// request's object and encode the completed object, once each.
type handlerBench struct {
	mutator          *webhooks.StatefulSetMutator
	create, update   ctrladmission.Request
	raw, injectedRaw []byte
	done             *appsv1.StatefulSet
}

func newHandlerBench(m *webhooks.StatefulSetMutator, sampleJSON []byte) (*handlerBench, error) {
	var sts appsv1.StatefulSet
	if err := kjson.UnmarshalCaseSensitivePreserveInts(sampleJSON, &sts); err != nil {
		return nil, err
	}
	res, err := m.Config.Inject(&sts, nil)
	if err != nil {
		return nil, err
	}
	injectedRaw, err := json.Marshal(res.StatefulSet)
	if err != nil {
		return nil, err
	}
	return &handlerBench{
		mutator: m, raw: sampleJSON, injectedRaw: injectedRaw, done: res.StatefulSet,
		create: request(admissionv1.Create, sampleJSON, nil),
		update: request(admissionv1.Update, injectedRaw, injectedRaw),
	}, nil
}

func (h *handlerBench) floor(raw []byte) {
	h.decode(raw)
	if _, err := json.Marshal(h.done); err != nil {
		panic(err)
	}
}

func (h *handlerBench) decode(raw []byte) {
	var sts appsv1.StatefulSet
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &sts); err != nil {
		panic(err)
	}
}

func (h *handlerBench) handle(req ctrladmission.Request, patched bool) {
	resp := h.mutator.Handle(context.Background(), req)
	if !resp.Allowed || (len(resp.Patches) > 0) != patched {
		panic(fmt.Sprintf("unexpected answer: %+v", resp.Result))
	}
}

// round returns ns per call of the floor, Handle, HandleInjected, the
// floor of HandleInjected's request and decoding that request alone.
func (h *handlerBench) round(d time.Duration) (floor, handle, injected, injectedFloor, injectedDecode float64) {
	return nsPerOp(d, func() { h.floor(h.raw) }),
		nsPerOp(d, func() { h.handle(h.create, true) }),
		nsPerOp(d, func() { h.handle(h.update, false) }),
		nsPerOp(d, func() { h.floor(h.injectedRaw) }),
		nsPerOp(d, func() { h.decode(h.injectedRaw) })
}

func (h *handlerBench) allocs() int {
	return int(testing.AllocsPerRun(500, func() { h.handle(h.create, true) }))
}

func nsPerOp(d time.Duration, fn func()) float64 {
	for i := 0; i < 50; i++ {
		fn()
	}
	runtime.GC()
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for i := 0; i < 20; i++ {
			fn()
		}
		n += 20
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func request(op admissionv1.Operation, obj, old []byte) ctrladmission.Request {
	return ctrladmission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "bench", Operation: op, Namespace: "default",
		Kind:   metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"},
		Object: k8sruntime.RawExtension{Raw: obj}, OldObject: k8sruntime.RawExtension{Raw: old},
	}}
}

func mutate1000(sample *appsv1.StatefulSet) (float64, error) {
	big := sample.DeepCopy()
	for i := 0; i < 1000; i++ {
		big.Spec.Template.Spec.Containers[0].Env = append(big.Spec.Template.Spec.Containers[0].Env,
			corev1.EnvVar{Name: fmt.Sprintf("VAR_%d", i), Value: strconv.Itoa(i)})
	}
	bigRaw, err := json.Marshal(big)
	if err != nil {
		return 0, err
	}
	var times []time.Duration
	for i := 0; i < 50; i++ {
		start := time.Now()
		res, err := mutate.DefaultConfig().Inject(big, nil)
		if err != nil {
			return 0, err
		}
		if _, err := patch.Create(bigRaw, big, res.StatefulSet); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	return ms(percentile(times, 50)), nil
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

// startProfile starts a CPU profile into path when on and path is set, and
// returns what stops it.
func startProfile(path string, on bool) (stop func(), err error) {
	if path == "" || !on {
		return func() {}, nil
	}
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); out.Close() }, nil
}

// settle closes the idle connections, opens one for each path again and
// collects garbage, so that every sequential phase starts alike.
func settle(t *http.Transport, c *http.Client, base string, body []byte) error {
	t.CloseIdleConnections()
	if err := warm(c, base, body, 50); err != nil {
		return err
	}
	runtime.GC()
	return nil
}

// warm sends n admissions to each path the server serves.
func warm(c *http.Client, base string, body []byte, n int) error {
	for i := 0; i < n; i++ {
		for _, path := range servedPaths {
			if _, err := post(c, base+path, body); err != nil {
				return fmt.Errorf("warming %s up: %w", path, err)
			}
		}
	}
	return nil
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
		req, _ := http.NewRequest(http.MethodPost, webhooks.StatefulSetPath, bytes.NewReader(body))
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

// apiserverBench creates StatefulSets through kube-apiserver four ways:
// labeled for the webhook, labeled for the MutatingAdmissionPolicy fixture,
// the completed object with no mutation in its path, and the user's object
// with none.
type apiserverBench struct {
	env        *envtest.Environment
	c          client.Client
	sample     *appsv1.StatefulSet
	completed  *appsv1.StatefulSet
	policyYAML []byte
	stop       func()
}

func startAPIServer(ctx context.Context, sample *appsv1.StatefulSet, mutator *webhooks.StatefulSetMutator) (*apiserverBench, error) {
	plane, err := controlplane.Start(controlplane.Options{Root: ".", Webhook: true, Target: "make bench"})
	if err != nil {
		return nil, err
	}
	env, cfg := plane.Env, plane.Config
	a := &apiserverBench{env: env, sample: sample, stop: func() { _ = env.Stop() }}
	started := false
	defer func() {
		if !started {
			a.stop() // on an error or a panic: no kube-apiserver or etcd is left behind
		}
	}()
	fail := func(err error) (*apiserverBench, error) {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	wio := env.WebhookInstallOptions
	mgr, err := server.New(cfg, server.Options{
		WebhookHost: wio.LocalServingHost, WebhookPort: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		MetricsAddr: "0", ProbeAddr: "0", DisableReconciler: true, Mutation: mutate.DefaultConfig(),
	})
	if err != nil {
		return fail(err)
	}
	mgrCtx, cancel := context.WithCancel(ctx)
	go func() { _ = mgr.Start(mgrCtx) }()
	a.stop = func() { cancel(); _ = env.Stop() }
	if a.c, err = client.New(cfg, client.Options{Scheme: server.NewScheme()}); err != nil {
		return fail(err)
	}
	res, err := mutate.DefaultConfig().Inject(sample, nil)
	if err != nil {
		return fail(err)
	}
	a.completed = res.StatefulSet

	// The policy adds what the webhook adds to the sample as the API server
	// hands it over, defaults and all.
	defaulted := a.object("", "plain")
	defaulted.Name = sample.Name
	if err := a.c.Create(ctx, defaulted, client.DryRunAll); err != nil {
		return fail(fmt.Errorf("dry-run create of the sample: %w", err))
	}
	if defaulted.Labels == nil {
		defaulted.Labels = map[string]string{}
	}
	defaulted.Labels[contract.EnabledLabel] = contract.EnabledValue
	defaultedJSON, err := json.Marshal(defaulted)
	if err != nil {
		return fail(err)
	}
	answer := mutator.Handle(ctx, request(admissionv1.Create, defaultedJSON, nil))
	if !answer.Allowed || len(answer.Patches) == 0 {
		return fail(fmt.Errorf("the webhook does not complete the defaulted sample: %+v", answer.Result))
	}
	policy, binding, err := policyFixture(answer.Patches)
	if err != nil {
		return fail(err)
	}
	if a.policyYAML, err = fixtureYAML(policy, binding); err != nil {
		return fail(err)
	}
	if err := a.c.Create(ctx, policy); err != nil {
		return fail(fmt.Errorf("creating the MutatingAdmissionPolicy: %w", err))
	}
	if err := a.c.Create(ctx, binding); err != nil {
		return fail(fmt.Errorf("creating the MutatingAdmissionPolicyBinding: %w", err))
	}

	// Wait until both mutate what they should, then warm every path up.
	want := len(a.completed.Spec.Template.Spec.InitContainers)
	for _, kind := range []string{"webhook", "policy"} {
		deadline := time.Now().Add(time.Minute)
		for i := 0; ; i++ {
			sts := a.object(fmt.Sprintf("warm-%s-%d", kind, i), kind)
			err := a.c.Create(ctx, sts)
			if err == nil && len(sts.Spec.Template.Spec.InitContainers) == want {
				break
			}
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("creates through the %s are not completed (error: %v)", kind, err))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := 0; i < 30; i++ {
		for _, kind := range []string{"webhook", "policy", "same", "plain"} {
			if err := a.c.Create(ctx, a.object(fmt.Sprintf("warm-%d", i), kind)); err != nil {
				return fail(err)
			}
		}
	}
	started = true
	return a, nil
}

const policyLabel = "mysql-replication-bench-policy"

// object returns a StatefulSet to create: the sample labeled for the
// webhook, the sample labeled for the policy, the completed object, or the
// sample with no label either mutation looks for.
func (a *apiserverBench) object(name, kind string) *appsv1.StatefulSet {
	var sts *appsv1.StatefulSet
	if kind == "same" {
		sts = a.completed.DeepCopy()
	} else {
		sts = a.sample.DeepCopy()
	}
	sts.Namespace = "default"
	sts.Name = name + "-" + kind
	if kind != "webhook" {
		delete(sts.Labels, contract.EnabledLabel)
	}
	if kind == "policy" {
		if sts.Labels == nil {
			sts.Labels = map[string]string{}
		}
		sts.Labels[policyLabel] = "enabled"
	}
	return sts
}

func (a *apiserverBench) round(ctx context.Context, r, n int) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	kinds := []string{"webhook", "policy", "same", "plain"}
	for i := 0; i < n; i++ {
		// A different order in each iteration, so none is always first.
		for j := range kinds {
			kind := kinds[(i+j)%len(kinds)]
			sts := a.object(fmt.Sprintf("bench-%d-%d", r, i), kind)
			start := time.Now()
			if err := a.c.Create(ctx, sts); err != nil {
				return nil, err
			}
			out[kind] = append(out[kind], time.Since(start))
		}
	}
	return out, nil
}

// startCPUMeter notes the CPU time of the machine and of this process with
// its children (kube-apiserver, etcd), so that otherShare can tell the CPU
// time other processes used in between.
func startCPUMeter() cpuMeter {
	return cpuMeter{start: time.Now(), busy: machineBusy(), ours: treeCPU()}
}

type cpuMeter struct {
	start      time.Time
	busy, ours float64 // seconds
}

func (m cpuMeter) otherShare() float64 {
	elapsed := time.Since(m.start).Seconds()
	other := (machineBusy() - m.busy) - (treeCPU() - m.ours)
	return max(0, other/(elapsed*float64(runtime.NumCPU())))
}

const clockTicks = 100 // USER_HZ, the unit of /proc/stat and /proc/<pid>/stat

// machineBusy returns the CPU seconds all cores spent outside idle and
// iowait since boot.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	var busy float64
	for i, v := range fields[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest time is counted in user
			busy += n
		}
	}
	return busy / clockTicks
}

// treeCPU returns the CPU seconds used by this process and its descendants.
func treeCPU() float64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	cpu := map[int]float64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 {
			continue
		}
		parent[pid], _ = strconv.Atoi(fields[1])
		utime, _ := strconv.ParseFloat(fields[11], 64)
		stime, _ := strconv.ParseFloat(fields[12], 64)
		cpu[pid] = (utime + stime) / clockTicks
	}
	self := os.Getpid()
	var total float64
	for pid, t := range cpu {
		for p, depth := pid, 0; p > 1 && depth < 64; p, depth = parent[p], depth+1 {
			if p == self {
				total += t
				break
			}
		}
	}
	return total
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
