// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package profile

import (
	"fmt"
	"strconv"
	"strings"
)

// ImageRef is an image reference taken apart.
type ImageRef struct {
	// Name is the last path element: "mysql" for
	// "registry.example.com/mirror/mysql:8.4".
	Name string
	// Tag and Digest are empty when absent.
	Tag, Digest string
}

// ParseImage takes an image reference apart. It never fails: what it cannot
// read ends up in Name and fails the lookup of known names instead.
func ParseImage(image string) ImageRef {
	var ref ImageRef
	image, ref.Digest, _ = strings.Cut(strings.TrimSpace(image), "@")
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	ref.Name, ref.Tag, _ = strings.Cut(image, ":")
	return ref
}

// Version is a server version; a component that is not given is -1 and
// stands for the newest release with the given ones ("8.4" is the newest
// 8.4.x).
type Version struct {
	Major, Minor, Patch int
	// Newest is a tag that names no number ("latest", "lts", none).
	Newest bool
}

// ParseVersion reads the leading release number of an image tag or a stated
// version: "8.4.3", "8.4", "8", "8.4-oracle", "10.11.6-jammy", "9.7.0-1.el9".
// A tag that starts with a letter ("latest", "lts", "innovation", "oracle")
// is the newest release. ok is false for anything else.
func ParseVersion(s string) (v Version, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Version{}, false
	}
	if c := s[0]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return Version{Major: -1, Minor: -1, Patch: -1, Newest: true}, true
	}
	number, _, _ := strings.Cut(s, "-")
	parts := strings.Split(number, ".")
	if len(parts) > 3 {
		return Version{}, false
	}
	nums := []int{-1, -1, -1}
	for i, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return Version{}, false
		}
		nums[i], _ = strconv.Atoi(p)
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2]}, true
}

// AtLeast reports whether v is major.minor.patch or later; a component v
// does not give counts as the newest.
func (v Version) AtLeast(major, minor, patch int) bool {
	switch {
	case v.Newest:
		return true
	case v.Major != major:
		return v.Major > major
	case v.Minor < 0:
		return true
	case v.Minor != minor:
		return v.Minor > minor
	default:
		return v.Patch < 0 || v.Patch >= patch
	}
}

func (v Version) String() string {
	if v.Newest {
		return "latest"
	}
	s := strconv.Itoa(v.Major)
	for _, n := range []int{v.Minor, v.Patch} {
		if n < 0 {
			break
		}
		s += fmt.Sprintf(".%d", n)
	}
	return s
}
