// Copyright 2026 The mysql-replication-webhook Authors
// SPDX-License-Identifier: Apache-2.0

package cluster

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// File is one file an image adds on top of its root filesystem.
type File struct {
	Path     string
	Mode     int64
	Content  string
	Dir      bool
	UID, GID int
}

// Image is a container image made without a registry: an optional root
// filesystem directory (one layer) and files laid over it (a second layer),
// written as an OCI archive and imported into containerd's k8s.io namespace.
type Image struct {
	// Name as pods write it, such as mysql:9.7; stored as docker.io/library/mysql:9.7.
	Name       string
	Root       string // a directory, or empty
	Files      []File
	Entrypoint []string
	Cmd        []string
	User       string
	Env        []string
}

// Ref is the image's fully qualified reference.
func (im Image) Ref() string {
	name := im.Name
	first, _, found := strings.Cut(name, "/")
	switch {
	case !found:
		return "docker.io/library/" + name
	case strings.ContainsAny(first, ".:") || first == "localhost":
		return name
	default:
		return "docker.io/" + name
	}
}

type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

type blob struct {
	digest string
	size   int64
	path   string // a file, or
	data   []byte // the content
}

func writeBlobFile(path string, fill func(io.Writer) error) (blob, error) {
	f, err := os.Create(path)
	if err != nil {
		return blob{}, err
	}
	hw := &hashWriter{w: f, h: sha256.New()}
	if err := fill(hw); err != nil {
		f.Close()
		return blob{}, err
	}
	if err := f.Close(); err != nil {
		return blob{}, err
	}
	return blob{digest: "sha256:" + hex.EncodeToString(hw.h.Sum(nil)), size: hw.n, path: path}, nil
}

func dataBlob(b []byte) blob {
	sum := sha256.Sum256(b)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), size: int64(len(b)), data: b}
}

// rootLayer tars a root filesystem with GNU tar, leaving out what runs
// mount over or fill at run time.
func rootLayer(root string) func(io.Writer) error {
	return func(w io.Writer) error {
		cmd := exec.Command("tar", "--numeric-owner", "--one-file-system", "-C", root,
			"--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "--exclude=./tmp/*",
			"--exclude=./mnt/*", "--exclude=./opt/*", "--exclude=./run/mysqld/*",
			"--exclude=./var/lib/mysql/*", "--exclude=./etc/mysql/conf.d/*", "--exclude=./.complete",
			"-cf", "-", ".")
		cmd.Stdout = w
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("tar %s: %w: %s", root, err, stderr.String())
		}
		return nil
	}
}

func filesLayer(files []File) func(io.Writer) error {
	return func(w io.Writer) error {
		tw := tar.NewWriter(w)
		sorted := append([]File(nil), files...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
		dirs := map[string]bool{}
		mtime := time.Unix(0, 0)
		for _, f := range sorted {
			// Parent directories first.
			parts := strings.Split(strings.Trim(filepath.Dir(f.Path), "/"), "/")
			for i := range parts {
				d := strings.Join(parts[:i+1], "/")
				if d == "" || d == "." || dirs[d] {
					continue
				}
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
					return err
				}
			}
			name := strings.TrimPrefix(f.Path, "/")
			if f.Dir {
				dirs[name] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: mtime}); err != nil {
					return err
				}
				continue
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: f.Mode, Uid: f.UID, Gid: f.GID, Size: int64(len(f.Content)), ModTime: mtime}); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, f.Content); err != nil {
				return err
			}
		}
		return tw.Close()
	}
}

// archiveFormat changes whenever Archive writes archives differently.
const archiveFormat = 3

// key identifies what the archive is made of, to reuse a cached one.
func (im Image) key() string {
	h := sha256.New()
	b, _ := json.Marshal(im)
	h.Write(b)
	fmt.Fprint(h, archiveFormat, im.Ref())
	if im.Root != "" {
		if st, err := os.Stat(filepath.Join(im.Root, ".complete")); err == nil {
			fmt.Fprint(h, st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Archive writes the image as an OCI archive in dir (reused while what it
// is made of is unchanged) and returns its path.
func (im Image) Archive(dir string) (string, error) {
	base := strings.NewReplacer("/", "_", ":", "_").Replace(im.Name)
	out := filepath.Join(dir, base+".oci.tar")
	keyFile := out + ".key"
	key := im.key()
	if old, err := os.ReadFile(keyFile); err == nil && string(old) == key {
		if _, err := os.Stat(out); err == nil {
			return out, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var layers []blob
	if im.Root != "" {
		b, err := writeBlobFile(out+".root.partial", rootLayer(im.Root))
		if err != nil {
			return "", err
		}
		defer os.Remove(b.path)
		layers = append(layers, b)
	}
	if len(im.Files) > 0 {
		b, err := writeBlobFile(out+".files.partial", filesLayer(im.Files))
		if err != nil {
			return "", err
		}
		defer os.Remove(b.path)
		layers = append(layers, b)
	}
	env := im.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	diffIDs := make([]string, len(layers))
	layerDescs := make([]map[string]any, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.digest // uncompressed: the diff ID is the digest
		layerDescs[i] = map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.digest, "size": l.size}
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": env, "Entrypoint": im.Entrypoint, "Cmd": im.Cmd, "User": im.User, "WorkingDir": "/"},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	cfgBlob := dataBlob(cfg)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfgBlob.digest, "size": cfgBlob.size},
		"layers": layerDescs,
	})
	manBlob := dataBlob(manifest)
	tag := im.Name[strings.LastIndex(im.Name, ":")+1:]
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manBlob.digest, "size": manBlob.size,
			"platform":    map[string]any{"architecture": "amd64", "os": "linux"},
			"annotations": map[string]string{"io.containerd.image.name": im.Ref(), "org.opencontainers.image.ref.name": tag},
		}},
	})

	f, err := os.Create(out + ".partial")
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(f)
	add := func(name string, b blob) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: b.size}); err != nil {
			return err
		}
		if b.path == "" {
			_, err := tw.Write(b.data)
			return err
		}
		src, err := os.Open(b.path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/", Mode: 0o755}); err != nil {
		return "", err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "blobs/sha256/", Mode: 0o755}); err != nil {
		return "", err
	}
	for _, b := range append(append([]blob{}, layers...), cfgBlob, manBlob) {
		if err := add("blobs/sha256/"+strings.TrimPrefix(b.digest, "sha256:"), b); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := add("oci-layout", dataBlob([]byte(`{"imageLayoutVersion":"1.0.0"}`))); err != nil {
		return "", err
	}
	if err := add("index.json", dataBlob(index)); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(out+".partial", out); err != nil {
		return "", err
	}
	return out, os.WriteFile(keyFile, []byte(key), 0o644)
}
