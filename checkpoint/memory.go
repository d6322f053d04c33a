package checkpoint

import (
	"context"
	"fmt"
	"sync"
)

// MemoryStore keeps checkpoints in memory, for tests. It stores each State
// encoded as the file store writes it, so Load returns a deep copy that
// shares nothing with the State given to Save, and what JSON does not keep
// (Position.File, monotonic clock readings) is dropped as it would be on
// disk. Like the other stores, Save stamps State.Version and State.Job when
// they are zero and refuses other values.
//
// A MemoryStore is safe for concurrent use. It holds no lease: two
// MemoryStores share nothing. Close does nothing, and the store stays usable
// afterwards so that a test can inspect what a run saved.
type MemoryStore struct {
	mu       sync.Mutex
	states   map[string][]byte
	segments map[string][]byte       // archive segments, by job and name
	archive  map[string][]segmentRef // by job: the archive last loaded or saved
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{states: make(map[string][]byte), segments: make(map[string][]byte), archive: make(map[string][]segmentRef)}
}

// Load returns a copy of the State saved for job, or an error wrapping
// ErrNotFound.
func (m *MemoryStore) Load(ctx context.Context, job string) (State, error) {
	st, refs, err := m.read(ctx, job)
	if err == nil {
		m.mu.Lock()
		m.archive[job] = refs
		m.mu.Unlock()
	}
	return st, err
}

func (m *MemoryStore) read(ctx context.Context, job string) (State, []segmentRef, error) {
	m.mu.Lock()
	data, ok := m.states[job]
	m.mu.Unlock()
	if !ok {
		return State{}, nil, fmt.Errorf("checkpoint memory:%s: %w", job, ErrNotFound)
	}
	st, refs, err := decodeState(data, "memory:"+job, job)
	if err != nil {
		return State{}, nil, err
	}
	st.Archived, err = readArchive(ctx, refs, "memory:"+job, func(_ context.Context, name string) ([]byte, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		data, ok := m.segments[job+"/"+name]
		if !ok {
			return nil, fmt.Errorf("%w: missing", ErrCorrupt)
		}
		return data, nil
	})
	return st, refs, err
}

// Save replaces the State of job with a copy of st.
func (m *MemoryStore) Save(ctx context.Context, job string, st State) error {
	if err := checkState(job, &st); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	refs, err := appendSegment(ctx, m.archive[job], "memory", &st, func(_ context.Context, name string, data []byte) error {
		m.segments[job+"/"+name] = data
		return nil
	})
	if err != nil {
		return err
	}
	data, err := encodeState(job, st, refs)
	if err != nil {
		return err
	}
	m.states[job] = data
	m.archive[job] = refs
	return nil
}

// Delete removes the State of job, if any.
func (m *MemoryStore) Delete(_ context.Context, job string) error {
	m.mu.Lock()
	delete(m.states, job)
	delete(m.archive, job)
	m.mu.Unlock()
	return nil
}

// Close does nothing; see MemoryStore.
func (m *MemoryStore) Close(context.Context) error { return nil }

// Peek is Load: the memory store takes no lock.
func (s *MemoryStore) Peek(ctx context.Context, job string) (State, error) {
	st, _, err := s.read(ctx, job)
	return st, err
}
