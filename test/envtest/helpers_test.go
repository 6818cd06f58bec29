package envtest

import (
	"sync"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func intstrFromInt(i int32) intstr.IntOrString { return intstr.FromInt32(i) }

// recordingWarnings collects the warnings the API server returns.
type recordingWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recordingWarnings) HandleWarningHeader(_ int, _ string, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, text)
}

func (r *recordingWarnings) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}
