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
	mu     sync.Mutex
	states map[string][]byte
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{states: make(map[string][]byte)}
}

// Load returns a copy of the State saved for job, or an error wrapping
// ErrNotFound.
func (m *MemoryStore) Load(_ context.Context, job string) (State, error) {
	m.mu.Lock()
	data, ok := m.states[job]
	m.mu.Unlock()
	if !ok {
		return State{}, fmt.Errorf("checkpoint memory:%s: %w", job, ErrNotFound)
	}
	return decodeState(data, "memory:"+job, job)
}

// Save replaces the State of job with a copy of st.
func (m *MemoryStore) Save(_ context.Context, job string, st State) error {
	data, err := encodeState(job, st)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.states[job] = data
	m.mu.Unlock()
	return nil
}

// Delete removes the State of job, if any.
func (m *MemoryStore) Delete(_ context.Context, job string) error {
	m.mu.Lock()
	delete(m.states, job)
	m.mu.Unlock()
	return nil
}

// Close does nothing; see MemoryStore.
func (m *MemoryStore) Close(context.Context) error { return nil }

// Peek is Load: the memory store takes no lock.
func (s *MemoryStore) Peek(ctx context.Context, job string) (State, error) { return s.Load(ctx, job) }
