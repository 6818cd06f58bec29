// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package mutate

import (
	"strconv"

	"github.com/mysql-replication-webhook/mysql-replication-webhook/pkg/contract"
)

// Bounds of the readiness annotations: a lag limit up to a week, a
// reconnect grace up to an hour.
const (
	maxLagLimit         = 7 * 24 * 3600
	maxReconnectGrace   = 3600
	readinessAnnotation = "a whole number of seconds from 1 to %d"
)

// readinessLimits reads the StatefulSet's annotations that bound a
// replica's readiness; an absent one is 0, the scripts' default.
func readinessLimits(annotations map[string]string) (maxLag, grace int, err error) {
	read := func(key string, most int) (int, error) {
		value, ok := annotations[key]
		if !ok {
			return 0, nil
		}
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > most {
			return 0, inputErrorf(ReasonReadiness, "annotation %s: %q is not "+readinessAnnotation, key, value, most)
		}
		return n, nil
	}
	if maxLag, err = read(contract.MaxLagAnnotation, maxLagLimit); err != nil {
		return 0, 0, err
	}
	grace, err = read(contract.ReconnectGraceAnnotation, maxReconnectGrace)
	return maxLag, grace, err
}
