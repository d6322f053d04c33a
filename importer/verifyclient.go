package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/delivery"
	"github.com/insider-import/insider-import/importer/upsert"
	"github.com/insider-import/insider-import/internal/ctxsleep"
)

// profileAnswer is a 200 answer of the profile API.
type profileAnswer struct {
	Attributes map[string]json.RawMessage              `json:"attributes"`
	Events     map[string][]map[string]json.RawMessage `json:"events"`
	Quota      *upsert.ProfileQuotaReport              `json:"quota"`
}

// attribute looks attribute f up: a custom one by its c_ name, or under
// "custom", or by its plain name.
func (a *profileAnswer) attribute(f *config.Field) (json.RawMessage, bool) {
	if f.Custom {
		if v, ok := a.Attributes[upsert.CustomPrefix+f.Name]; ok {
			return v, true
		}
		var custom map[string]json.RawMessage
		if json.Unmarshal(a.Attributes["custom"], &custom) == nil {
			if v, ok := custom[f.Name]; ok {
				return v, true
			}
		}
	}
	v, ok := a.Attributes[f.Name]
	if ok && string(v) == "null" {
		return nil, false
	}
	return v, ok
}

// profileClient asks the profile API, one user a request, paced by the
// quota Insider reports.
type profileClient struct {
	url, partner, key string
	client            *http.Client
	timeout           time.Duration
	pace              quotaPacer
	requests          int
	used              float64 // quota units reported
}

func newProfileClient(cfg *Config, opts VerifyOptions) *profileClient {
	c := &profileClient{url: cfg.ProfileEndpoint(), partner: cfg.Partner(), key: opts.APIKey, client: opts.HTTPClient, timeout: cfg.Delivery.Timeout}
	if c.client == nil {
		c.client = &http.Client{}
	}
	c.pace = quotaPacer{total: upsert.ProfileQuota, next: 1, now: opts.Now, sleep: opts.Sleep}
	if c.pace.now == nil {
		c.pace.now = time.Now
	}
	if c.pace.sleep == nil {
		c.pace.sleep = ctxsleep.Sleep
	}
	return c
}

// profileAttempts bounds tries of one request on 429, 5xx and network
// errors.
const profileAttempts = 6

// get asks for one user. It returns nil, nil when Insider knows no such
// user (404), and an error when the API failed.
func (c *profileClient) get(ctx context.Context, req upsert.ProfileRequest) (*profileAnswer, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var last string
	for attempt := 1; attempt <= profileAttempts; attempt++ {
		if err := c.pace.wait(ctx); err != nil {
			return nil, err
		}
		status, hdr, b, err := c.post(ctx, body)
		c.requests++
		wait := time.Duration(1<<(attempt-1)) * time.Second
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK:
			var a profileAnswer
			if err := json.Unmarshal(b, &a); err != nil {
				return nil, fmt.Errorf("verify: the profile API's answer is not a profile (%v): %.200s", err, b)
			}
			c.pace.record(a.Quota)
			if a.Quota != nil {
				c.used += a.Quota.Cost
			}
			return &a, nil
		case status == http.StatusNotFound:
			c.pace.record(nil)
			return nil, nil
		case status == http.StatusTooManyRequests:
			// Over the quota: wait for the minute to free up (or as told).
			last = "429 Too Many Requests"
			wait = max(wait, delivery.RetryAfter(hdr.Get("Retry-After")), c.pace.untilFree())
		case status >= 500:
			last = fmt.Sprintf("%d %.200s", status, b)
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return nil, fmt.Errorf("verify: the profile API refused the credentials (%d): check the partner and the key (verify.api_key_env if the profile API needs another key than the upsert)", status)
		default:
			return nil, fmt.Errorf("verify: the profile API answered %d: %.300s", status, b)
		}
		if attempt < profileAttempts {
			if err := c.pace.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("verify: the profile API failed %d times, last: %s", profileAttempts, last)
}

func (c *profileClient) post(ctx context.Context, body []byte) (int, http.Header, []byte, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(upsert.HeaderPartner, c.partner)
	req.Header.Set(upsert.HeaderToken, c.key)
	req.Header.Set("User-Agent", "insider-import")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, b, nil
}

// quotaPacer keeps the requests' reported cost within the quota of a
// minute: before a request it waits until the units spent in the last
// minute and the next request's likely cost (the highest cost seen) fit.
type quotaPacer struct {
	total float64 // units a minute
	next  float64 // likely cost of the next request
	spent []spend // in the last minute, oldest first
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

type spend struct {
	at   time.Time
	cost float64
}

// window drops what is older than a minute and returns the sum of the rest.
func (p *quotaPacer) window() float64 {
	now := p.now()
	i := 0
	for i < len(p.spent) && !p.spent[i].at.After(now.Add(-time.Minute)) {
		i++
	}
	p.spent = p.spent[i:]
	sum := 0.0
	for _, s := range p.spent {
		sum += s.cost
	}
	return sum
}

// untilFree is how long until the next request's cost fits the quota.
func (p *quotaPacer) untilFree() time.Duration {
	sum := p.window()
	if sum+p.next <= p.total {
		return 0
	}
	for _, s := range p.spent {
		sum -= s.cost
		if sum+p.next <= p.total || s == p.spent[len(p.spent)-1] {
			// Once s is a minute old the next request fits (or, costing
			// more than the quota alone, has the whole minute).
			return max(s.at.Add(time.Minute).Sub(p.now()), 10*time.Millisecond)
		}
	}
	return 0
}

func (p *quotaPacer) wait(ctx context.Context) error {
	for {
		d := p.untilFree()
		if d <= 0 {
			return nil
		}
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// record notes an answered request: its reported cost, and, when Insider
// says more was used this minute than this client spent (other clients of
// the account), the difference, so the pacing leaves room for it.
func (p *quotaPacer) record(q *upsert.ProfileQuotaReport) {
	cost := p.next
	if q != nil {
		cost = q.Cost
		if q.Total > 0 {
			p.total = q.Total
		}
		p.next = max(p.next, q.Cost)
	}
	sum := p.window()
	p.spent = append(p.spent, spend{p.now(), cost})
	if q != nil && q.Used > sum+cost {
		p.spent = append(p.spent, spend{p.now(), q.Used - sum - cost})
	}
}
