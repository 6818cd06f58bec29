// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package profile

import (
	"errors"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := map[string]struct {
		image   string
		stated  Stated
		want    string
		wantErr error
	}{
		"5.7":                        {image: "mysql:5.7", want: MySQL57.Name},
		"5.7 patch":                  {image: "registry.example.com/mysql:5.7.44", want: MySQL57.Name},
		"5.7 debian":                 {image: "mysql:5.7-debian", want: MySQL57.Name},
		"5":                          {image: "mysql:5", want: MySQL57.Name},
		"percona 5.7":                {image: "percona:5.7", want: MySQL57.Name},
		"8.4.3":                      {image: "mysql:8.4.3", want: MySQL8.Name},
		"8.4":                        {image: "mysql:8.4", want: MySQL8.Name},
		"8":                          {image: "mysql:8", want: MySQL8.Name},
		"9":                          {image: "mysql:9", want: MySQL8.Name},
		"9.7":                        {image: "mysql:9.7", want: MySQL8.Name},
		"8.4-oracle":                 {image: "mysql:8.4-oracle", want: MySQL8.Name},
		"lts":                        {image: "mysql:lts", want: MySQL8.Name},
		"latest":                     {image: "mysql:latest", want: MySQL8.Name},
		"innovation":                 {image: "mysql:innovation", want: MySQL8.Name},
		"untagged":                   {image: "mysql", want: MySQL8.Name},
		"mirror path":                {image: "registry.example.com/mirror/mysql:8.4", want: MySQL8.Name},
		"registry port":              {image: "registry.example.com:5000/mysql:8.4", want: MySQL8.Name},
		"oracle registry":            {image: "container-registry.oracle.com/mysql/community-server:9.7", want: MySQL8.Name},
		"mysql-server":               {image: "mysql/mysql-server:8.0.32", want: MySQL8.Name},
		"percona-server 8.4":         {image: "percona/percona-server:8.4", want: MySQL8.Name},
		"8.0 newest":                 {image: "mysql:8.0", want: MySQL8.Name},
		"8.0.23":                     {image: "mysql:8.0.23", want: MySQL8.Name},
		"tag and digest":             {image: "mysql:8.4@sha256:0123", want: MySQL8.Name},
		"8.0.22":                     {image: "mysql:8.0.22", wantErr: ErrUnsupported},
		"8.0.0":                      {image: "mysql:8.0.0", wantErr: ErrUnsupported},
		"5.6":                        {image: "mysql:5.6", wantErr: ErrUnsupported},
		"5.5.62":                     {image: "mysql:5.5.62", wantErr: ErrUnsupported},
		"digest only":                {image: "mysql@sha256:0123", wantErr: ErrUnknownVersion},
		"digest stated":              {image: "mysql@sha256:0123", stated: Stated{Version: "8.4"}, want: MySQL8.Name},
		"digest stated 5.7":          {image: "mysql@sha256:0123", stated: Stated{Version: "5.7.44"}, want: MySQL57.Name},
		"private name":               {image: "registry.corp/db:v3", wantErr: ErrUnknownFamily},
		"private name numeric tag":   {image: "registry.corp/db:8.4", wantErr: ErrUnknownFamily},
		"private stated family":      {image: "registry.corp/db:8.4", stated: Stated{Family: "mysql"}, wantErr: ErrUnknownVersion},
		"private stated both":        {image: "registry.corp/db:v3", stated: Stated{Family: "mysql", Version: "9.7"}, want: MySQL8.Name},
		"private mariadb":            {image: "registry.corp/db", stated: Stated{Family: "mariadb", Version: "11.4"}, want: MariaDBProfile.Name},
		"stated version wins":        {image: "mysql:8.4", stated: Stated{Version: "5.7"}, want: MySQL57.Name},
		"stated word":                {image: "mysql@sha256:0", stated: Stated{Version: "latest"}, wantErr: ErrBadStatement},
		"stated garbage":             {image: "mysql:8.4", stated: Stated{Version: "8.4; DROP"}, wantErr: ErrBadStatement},
		"stated bad family":          {image: "mysql:8.4", stated: Stated{Family: "postgres"}, wantErr: ErrBadStatement},
		"unreadable tag":             {image: "mysql:8.x", wantErr: ErrUnknownVersion},
		"mariadb 10.11":              {image: "docker.io/library/mariadb:10.11", want: MariaDBProfile.Name},
		"mariadb 11.4 digest":        {image: "quay.io/org/mariadb:11.4@sha256:abc", want: MariaDBProfile.Name},
		"mariadb 11.8":               {image: "mariadb:11.8.3-noble", want: MariaDBProfile.Name},
		"mariadb lts":                {image: "mariadb:lts", want: MariaDBProfile.Name},
		"mariadb untagged":           {image: "mariadb", want: MariaDBProfile.Name},
		"mariadb 10.5":               {image: "mariadb:10.5", want: MariaDBProfile.Name},
		"mariadb 10.4":               {image: "mariadb:10.4", wantErr: ErrUnsupported},
		"mariadb 5.5":                {image: "mariadb:5.5", wantErr: ErrUnsupported},
		"mysql image stated mariadb": {image: "mysql:11.4", stated: Stated{Family: "mariadb"}, want: MariaDBProfile.Name},
		"empty image":                {image: "", wantErr: ErrUnknownFamily},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Resolve(tc.image, tc.stated)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q, %+v) = %v, %v; want error %v", tc.image, tc.stated, got.Name, err, tc.wantErr)
				}
				return
			}
			if err != nil || got.Name != tc.want {
				t.Fatalf("Resolve(%q, %+v) = %q, %v; want %q", tc.image, tc.stated, got.Name, err, tc.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	tests := map[string]struct {
		in   string
		want Version
		ok   bool
	}{
		"full":       {"8.4.3", Version{8, 4, 3, false}, true},
		"minor":      {"8.4", Version{8, 4, -1, false}, true},
		"major":      {"9", Version{9, -1, -1, false}, true},
		"suffix":     {"8.4-oracle", Version{8, 4, -1, false}, true},
		"word":       {"lts", Version{-1, -1, -1, true}, true},
		"four":       {"1.2.3.4", Version{}, false},
		"sign":       {"+8.4", Version{}, false},
		"empty part": {"8..4", Version{}, false},
		"huge":       {"99999999", Version{}, false},
		"empty":      {"", Version{}, false},
		"symbol":     {"_8", Version{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseVersion(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("ParseVersion(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzResolve(f *testing.F) {
	for _, seed := range []string{"mysql:8.4", "mysql@sha256:0", "mariadb:10.11-jammy", "a/b/c:1.2.3-x", ":", "@", "mysql:5.7"} {
		f.Add(seed, "", "")
		f.Add(seed, "mysql", "8.4")
	}
	f.Fuzz(func(t *testing.T, image, family, version string) {
		p, err := Resolve(image, Stated{Family: family, Version: version})
		if err == nil && p.Name == "" {
			t.Fatalf("Resolve(%q, %q, %q) gave no profile and no error", image, family, version)
		}
	})
}
