package initconfig

import (
	"context"
	"fmt"
	"time"

	"github.com/insider-import/insider-import/importer/config"
	"github.com/insider-import/insider-import/importer/encode"
	"github.com/insider-import/insider-import/readers"
)

// Options are the inputs of Generate.
type Options struct {
	Inputs     []string // as given: paths, directories, globs, s3:// URIs
	SampleRows int      // rows read (default 1000)
	S3         readers.S3Options
	Partner    string // INSIDER_PARTNER_NAME, "" when unset
	Endpoint   string // insider.endpoint, "" for config.DefaultEndpoint (the stand-in's URL to try it locally)
}

// initCol is one column of the input and where it goes.
type initCol struct {
	name    string
	vals    []readers.Value // non-null sample values
	nulls   int
	places  []placement // in order of preference; the first is used
	notes   []string    // comments for the config
	skipWhy string      // why it is listed commented out
}

// placement is one way to map a column.
type placement struct {
	section string // "identifiers", "attributes", "param", "timestamp", "name_column"
	key     string // Insider's name
	custom  bool
	spec    fieldSpec
	// tolerate is the share of values that may fail before the column is
	// demoted (identifiers: bad values make bad rows; attributes: none).
	tolerate float64
}

type fieldSpec struct {
	typ      config.FieldType
	layout   string
	timezone string
	format   string
	sep      string
	decimal  string
}

type initPlan struct {
	opts     Options
	files    []string
	format   readers.Format
	delim    rune
	encoding string
	bom      string
	gz       bool
	nulls    []string
	columns  []*initCol
	records  []readers.Record
	badRows  int
	firstBad string   // the first of them
	notes    []string // header comments
	event    *initEvent
}

type initEvent struct {
	name    string   // fixed name, or "" with nameCol
	nameCol *initCol // the event-name column
	ts      *initCol
	params  []*initCol
	notes   []string
}

// Generate returns the YAML of a config for the inputs.
func Generate(ctx context.Context, o Options) ([]byte, error) {
	if o.SampleRows <= 0 {
		o.SampleRows = 1000
	}
	files, err := readers.Expand(ctx, o.Inputs, o.S3)
	if err != nil {
		return nil, err
	}
	p := &initPlan{opts: o, files: files, format: readers.FormatOf(files[0], readers.FormatAuto)}
	if p.format == readers.FormatCSV {
		if err := p.sniffCSV(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.readSample(ctx); err != nil {
		return nil, err
	}
	p.place()
	err = p.settle()
	p.checkOtherFiles(ctx)
	return p.yaml(), err
}

// ProblemsError is returned with a config that validate will not yet
// accept (no identifier found, say): the config is written all the same,
// with the problems, for a person to finish.
type ProblemsError struct{ Problems string }

func (e *ProblemsError) Error() string {
	return "the config needs edits before validate accepts it:\n" + e.Problems
}

// settle maps the sample with the config as placed and demotes each
// column whose values do not fit its placement, until all fit.
func (p *initPlan) settle() error {
	cols := make([]string, len(p.columns))
	for i, c := range p.columns {
		cols[i] = c.name
	}
	for range 16 {
		cfg, err := config.Parse("init", p.yaml(), encode.CheckValue)
		if err != nil {
			return &ProblemsError{Problems: err.Error()}
		}
		mp, err := encode.NewMapper(cfg, p.files[0], cols, time.Now())
		if err != nil {
			return &ProblemsError{Problems: err.Error()}
		}
		fails, first := map[string]int{}, map[string]string{}
		var events, expired, future int32
		for _, rec := range p.records {
			r := mp.MapRecord(rec)
			events, expired, future = events+r.EventsRead, expired+r.Expired, future+r.Future
			for _, pr := range r.Problems {
				if pr.Column == "" || pr.Rule == encode.RuleIdentifierRequired {
					continue
				}
				fails[pr.Column]++
				if first[pr.Column] == "" {
					first[pr.Column] = pr.Msg
				}
			}
		}
		changed := false
		for _, c := range p.columns {
			n := fails[c.name]
			if len(c.places) == 0 || n == 0 || float64(n) <= c.places[0].tolerate*float64(len(c.vals)) {
				continue
			}
			changed = true
			c.notes = append(c.notes, fmt.Sprintf("not %s: %d of %d sample values do not fit (%s)", c.places[0].describe(), n, len(c.vals), first[c.name]))
			c.places = c.places[1:]
			if len(c.places) == 0 {
				c.skipWhy = "no mapping fits its values"
			}
		}
		if !changed {
			if ev := p.event; ev != nil && expired+future > 0 {
				ev.notes = append(ev.notes, fmt.Sprintf("%d of the sample's %d events are older than their TTL (events.ttl) and %d are in the future: those are not sent (Insider would drop them)",
					expired, events, future))
			}
			return nil
		}
	}
	return nil
}

func (pl placement) describe() string {
	where := "mapping." + pl.section + "." + pl.key
	switch pl.section {
	case "attributes":
		if pl.custom {
			where = "a custom attribute"
		} else {
			where = "the default attribute " + pl.key
		}
	case "param", "timestamp", "name_column":
		where = "the event's " + pl.key
	case "identifiers":
		where = "the identifier " + pl.key
	}
	if pl.spec.typ != config.TypeString {
		where += " of type " + string(pl.spec.typ)
	}
	return where
}
