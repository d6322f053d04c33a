package checkpoint

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// A job of many files finishes most of them long before it ends. So that a
// save does not rewrite every file ever finished, finished files are moved
// out of State.Files into the job's archive: segments, each a file (or S3
// object) beside the checkpoint, written once, holding one JSON line per
// finished file (ArchivedFile). The checkpoint document lists its segments
// in order ("archive": name, number of files and SHA-256 of each), so a Save
// writes the new segment, if any, and then the small document that refers to
// it: the atomic step is still the one write of the document. A segment
// written by a Save that failed or crashed before that write is referred to
// by nothing and never read (the file store removes such leftovers).

// ArchivedFile is a finished file moved out of State.Files into the archive.
type ArchivedFile struct {
	File string `json:"file"`
	FileState
}

// segmentRef names one archive segment in the checkpoint document.
type segmentRef struct {
	Name   string `json:"name"` // beside the checkpoint: a file name, or a key after the store's prefix
	Files  int    `json:"files"`
	SHA256 string `json:"sha256"`
}

// document is the checkpoint as stored: the State and the segments of its
// archive.
type document struct {
	State
	Archive []segmentRef `json:"archive,omitempty"`
}

// newSegment encodes files as a segment of the archive of the job stored
// under base (its file name or key without ".json").
func newSegment(base string, files []ArchivedFile) (segmentRef, []byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range files {
		if err := enc.Encode(&files[i]); err != nil {
			return segmentRef{}, nil, fmt.Errorf("encode checkpoint archive: %w", err)
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	// A random name: a run that lost its lease and still writes a segment
	// never overwrites one the new holder refers to.
	var r [8]byte
	_, _ = rand.Read(r[:])
	name := fmt.Sprintf("%s.archive-%s.jsonl", base, hex.EncodeToString(r[:]))
	return segmentRef{Name: name, Files: len(files), SHA256: hex.EncodeToString(sum[:])}, buf.Bytes(), nil
}

// isSegmentOf reports whether name is the name of a segment of the job
// stored under base.
func isSegmentOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, base+".archive-")
	return ok && strings.HasSuffix(rest, ".jsonl")
}

// readArchive reads the segments refs lists, with get (up to 8 at a time),
// and returns their files in order. where names the checkpoint for errors.
func readArchive(ctx context.Context, refs []segmentRef, where string, get func(ctx context.Context, name string) ([]byte, error)) ([]ArchivedFile, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	parts := make([][]ArchivedFile, len(refs))
	errs := make([]error, len(refs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, ref := range refs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			data, err := get(ctx, ref.Name)
			if err == nil {
				parts[i], err = decodeSegment(data, ref)
			}
			if err != nil {
				errs[i] = fmt.Errorf("checkpoint %s: archive segment %s: %w", where, ref.Name, err)
			}
		})
	}
	wg.Wait()
	n := 0
	for i := range refs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		n += len(parts[i])
	}
	out := make([]ArchivedFile, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

func decodeSegment(data []byte, ref segmentRef) ([]ArchivedFile, error) {
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, fmt.Errorf("%w: its SHA-256 is not the one the checkpoint recorded", ErrCorrupt)
	}
	out := make([]ArchivedFile, 0, ref.Files)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		var f ArchivedFile
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		out = append(out, f)
	}
	if len(out) != ref.Files {
		return nil, fmt.Errorf("%w: %d files, the checkpoint recorded %d", ErrCorrupt, len(out), ref.Files)
	}
	return out, nil
}

// appendSegment returns the archive refs of a Save of st over base (the
// segments the store last loaded or saved): base, plus a new segment of
// st.Archived written with put, if there is any.
func appendSegment(ctx context.Context, base []segmentRef, name string, st *State, put func(ctx context.Context, name string, data []byte) error) ([]segmentRef, error) {
	if len(st.Archived) == 0 {
		return base, nil
	}
	ref, data, err := newSegment(name, st.Archived)
	if err != nil {
		return nil, err
	}
	if err := put(ctx, ref.Name, data); err != nil {
		return nil, fmt.Errorf("save checkpoint archive segment %s: %w", ref.Name, err)
	}
	return append(slices.Clip(base), ref), nil
}

// FileOf returns what st records of file: its entry in Files, else its last
// entry in the archive, else nil. It reads the whole archive: a caller that
// asks about many files builds an index with Index instead.
func (st *State) FileOf(file string) *FileState {
	if fs := st.Files[file]; fs != nil {
		return fs
	}
	for i := len(st.Archived) - 1; i >= 0; i-- {
		if st.Archived[i].File == file {
			return &st.Archived[i].FileState
		}
	}
	return nil
}

// Index returns every file st records, by name: Files, and the archive (a
// file archived more than once by its last entry; Files before the archive).
func (st *State) Index() map[string]*FileState {
	m := make(map[string]*FileState, len(st.Files)+len(st.Archived))
	for i := range st.Archived {
		m[st.Archived[i].File] = &st.Archived[i].FileState
	}
	for name, fs := range st.Files {
		m[name] = fs
	}
	return m
}
