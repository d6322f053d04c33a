package deploy

// The manifests are rendered the way `kubectl kustomize` renders them (the
// kustomize API in process; kubectl too when it is installed, and both must
// agree), every object is decoded strictly into the k8s.io/api types (an
// unknown or misspelt field fails), and the invariants the binary relies on
// are checked against the binary's own sources: the exit codes in main.go,
// the user and working directory in the Dockerfile, the image name in the
// Makefile.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// measuredPeakRSS is the largest peak RSS of a whole run in docs/performance.md
// (Parquet, 1M rows): the memory request covers it.
var measuredPeakRSS = resource.MustParse("230Mi")

// manifests is what one overlay renders to, decoded.
type manifests struct {
	ServiceAccounts map[string]*corev1.ServiceAccount
	ConfigMaps      map[string]*corev1.ConfigMap
	CronJobs        []*batchv1.CronJob
	Jobs            []*batchv1.Job
}

// renderKrusty renders the kustomization in dir with the kustomize API.
func renderKrusty(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	return out
}

// decodeStrict decodes every document of a rendered overlay into its
// k8s.io/api type, refusing unknown fields and unknown kinds.
func decodeStrict(out []byte) (*manifests, error) {
	m := &manifests{ServiceAccounts: map[string]*corev1.ServiceAccount{}, ConfigMaps: map[string]*corev1.ConfigMap{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "batch/v1 CronJob":
			obj = &batchv1.CronJob{}
		case "batch/v1 Job":
			obj = &batchv1.Job{}
		default:
			return nil, fmt.Errorf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			m.ServiceAccounts[o.Name] = o
		case *corev1.ConfigMap:
			m.ConfigMaps[o.Name] = o
		case *batchv1.CronJob:
			m.CronJobs = append(m.CronJobs, o)
		case *batchv1.Job:
			m.Jobs = append(m.Jobs, o)
		}
	}
}

// TestStrictDecodeRefusesUnknownFields: the decoding the manifest test relies
// on fails on a misspelt field.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	good := "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: x}\nspec: {schedule: '* * * * *', concurrencyPolicy: Forbid}\n"
	if _, err := decodeStrict([]byte(good)); err != nil {
		t.Fatalf("valid CronJob: %v", err)
	}
	bad := strings.Replace(good, "concurrencyPolicy", "concurrencyPolice", 1)
	if _, err := decodeStrict([]byte(bad)); err == nil || !strings.Contains(err.Error(), "concurrencyPolice") {
		t.Fatalf("misspelt field: got %v, want an error naming it", err)
	}
	if _, err := decodeStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")); err == nil {
		t.Fatal("an unexpected kind is refused")
	}
}

// exitCodes reads the exit-code constants of cmd/insider-import/main.go.
func exitCodes(t *testing.T) map[string]int32 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../cmd/insider-import/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int32{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "exit") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.INT {
					t.Fatalf("main.go: %s is not an integer literal", n.Name)
				}
				v, err := strconv.ParseInt(lit.Value, 0, 32)
				if err != nil {
					t.Fatal(err)
				}
				codes[n.Name] = int32(v)
			}
		}
	}
	for _, n := range []string{"exitOK", "exitFailure", "exitUsage", "exitRejects", "exitCredentials", "exitLeaseHeld", "exitSIGINT", "exitSIGTERM"} {
		if _, ok := codes[n]; !ok {
			t.Fatalf("main.go has no constant %s", n)
		}
	}
	return codes
}

// fileMatch returns the first submatch of re in the file at p.
func fileMatch(t *testing.T, p, re string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(re).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no line matches %s", p, re)
	}
	return string(m[1])
}

// action returns what policy does with a pod whose container exited with
// code and that has the given (true) conditions: the action of the first
// rule that matches, Count when none does.
func action(p *batchv1.PodFailurePolicy, container string, code int32, conditions ...corev1.PodConditionType) batchv1.PodFailurePolicyAction {
	if p == nil {
		return batchv1.PodFailurePolicyActionCount
	}
	for _, r := range p.Rules {
		for _, pc := range r.OnPodConditions {
			if slices.Contains(conditions, pc.Type) && (pc.Status == "" || pc.Status == corev1.ConditionTrue) {
				return r.Action
			}
		}
		ec := r.OnExitCodes
		if ec == nil || (ec.ContainerName != nil && *ec.ContainerName != container) {
			continue
		}
		in := slices.Contains(ec.Values, code)
		if (ec.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
			return r.Action
		}
	}
	return batchv1.PodFailurePolicyActionCount
}

// flagValue returns the value of --name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// mountFor returns the volume mount that holds path p in c, and its volume.
func mountFor(ps *corev1.PodSpec, c *corev1.Container, p string) (*corev1.VolumeMount, *corev1.Volume) {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) &&
			(best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return nil, nil
	}
	for i, v := range ps.Volumes {
		if v.Name == best.Name {
			return best, &ps.Volumes[i]
		}
	}
	return best, nil
}

// writable reports whether p lies on a writable emptyDir or claim in c.
func writable(ps *corev1.PodSpec, c *corev1.Container, p string) bool {
	m, v := mountFor(ps, c, p)
	return m != nil && v != nil && !m.ReadOnly && (v.EmptyDir != nil || v.PersistentVolumeClaim != nil || v.Ephemeral != nil)
}

// TestKubernetesManifests renders every overlay under kubernetes/ and checks
// the objects and the invariants.
func TestKubernetesManifests(t *testing.T) {
	codes := exitCodes(t)
	uid, err := strconv.ParseInt(fileMatch(t, "Dockerfile", `(?m)^USER\s+(\d+)`), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	workdir := fileMatch(t, "Dockerfile", `(?m)^WORKDIR\s+(\S+)`)
	image := fileMatch(t, "../Makefile", `(?m)^IMAGE\s*\?=\s*(\S+)`) + ":latest"
	if mk, err := os.ReadFile("../Makefile"); err != nil || !bytes.Contains(mk, []byte("-t $(IMAGE):latest")) {
		t.Fatal("make image no longer tags $(IMAGE):latest, which the manifests run")
	}

	overlays, err := filepath.Glob("kubernetes/*/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	metricsJobs := map[string]string{} // overlay → metrics.job
	for _, k := range overlays {
		dir := filepath.Dir(k)
		name := filepath.Base(dir)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			out := renderKrusty(t, dir)
			m, err := decodeStrict(out)
			if err != nil {
				t.Fatalf("%s: %v\n%s", dir, err, out)
			}
			if kubectl, err := exec.LookPath("kubectl"); err == nil {
				// What docs/kubernetes.md tells users to run renders the same.
				kout, err := exec.Command(kubectl, "kustomize", dir).Output()
				if err != nil {
					t.Fatalf("kubectl kustomize %s: %v", dir, err)
				}
				km, err := decodeStrict(kout)
				if err != nil {
					t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, kout)
				}
				if !reflect.DeepEqual(m, km) {
					t.Errorf("kubectl kustomize %s renders other objects than the kustomize API:\n%s\n---- kubectl:\n%s", dir, out, kout)
				}
			}
			switch name {
			case "base":
				if len(m.CronJobs)+len(m.Jobs) != 0 {
					t.Errorf("base renders a workload; its Job is a template (local-config)")
				}
				return
			case "cronjob":
				if len(m.CronJobs) != 1 || len(m.Jobs) != 0 {
					t.Fatalf("want one CronJob and no Job, got %d and %d", len(m.CronJobs), len(m.Jobs))
				}
				checkCronJob(t, m.CronJobs[0], codes)
				var rejectsCode int32
				metricsJobs[name], rejectsCode = checkPod(t, m, &m.CronJobs[0].Spec.JobTemplate.Spec, image, uid, workdir, 1)
				checkRejectsChoice(t, &m.CronJobs[0].Spec.JobTemplate.Spec, codes, rejectsCode)
			case "indexed-job":
				if len(m.CronJobs) != 0 || len(m.Jobs) != 1 {
					t.Fatalf("want one Job and no CronJob, got %d and %d", len(m.Jobs), len(m.CronJobs))
				}
				js := &m.Jobs[0].Spec
				checkIndexedJob(t, js, codes)
				metricsJobs[name], _ = checkPod(t, m, js, image, uid, workdir, *js.Completions)
			default:
				t.Fatalf("overlay %s is not checked by this test", name)
			}
		})
	}
	for _, want := range []string{"base", "cronjob", "indexed-job"} {
		if !seen[want] {
			t.Errorf("no kubernetes/%s/kustomization.yaml", want)
		}
	}
	// Each workload pushes under its own job label: the last success time
	// of one must not be the other's.
	if j := metricsJobs["cronjob"]; j != "" && j == metricsJobs["indexed-job"] {
		t.Errorf("the CronJob and the backfill push metrics under the same job %q", j)
	}
}

// checkExitCodes checks the pod failure policy against main.go's exit codes:
// every code but 0 and SIGINT's (a pod gets SIGTERM) is decided by a rule,
// config and credential errors fail the Job at once, rejects fail it (or the
// index) without a retry, and failures, a held lease and SIGTERM retry.
func checkExitCodes(t *testing.T, js *batchv1.JobSpec, codes map[string]int32, rejects batchv1.PodFailurePolicyAction) {
	t.Helper()
	p := js.PodFailurePolicy
	if p == nil {
		t.Fatal("no podFailurePolicy")
	}
	container := js.Template.Spec.Containers[0].Name
	want := map[string]batchv1.PodFailurePolicyAction{
		"exitUsage":       batchv1.PodFailurePolicyActionFailJob,
		"exitCredentials": batchv1.PodFailurePolicyActionFailJob,
		"exitRejects":     rejects,
		"exitFailure":     batchv1.PodFailurePolicyActionCount,
		"exitLeaseHeld":   batchv1.PodFailurePolicyActionCount,
		"exitSIGTERM":     batchv1.PodFailurePolicyActionCount,
	}
	for n, a := range want {
		if got := action(p, container, codes[n]); got != a {
			t.Errorf("exit %d (%s): %s, want %s", codes[n], n, got, a)
		}
	}
	// A drained, evicted or preempted pod exits 143 after saving the
	// checkpoint; that retry does not count.
	if got := action(p, container, codes["exitSIGTERM"], corev1.DisruptionTarget); got != batchv1.PodFailurePolicyActionIgnore {
		t.Errorf("exit %d of a pod with DisruptionTarget: %s, want Ignore (the rule must come before the exit-code rules)", codes["exitSIGTERM"], got)
	}
	known := map[int32]bool{}
	for n, c := range codes {
		known[c] = true
		if _, ok := want[n]; !ok && n != "exitOK" && n != "exitSIGINT" {
			t.Errorf("main.go's %s (exit %d) has no decided action in this test; add it to the policy and here", n, c)
		}
	}
	ruleOf := map[int32]int{}
	for i, r := range p.Rules {
		if r.OnExitCodes == nil {
			continue
		}
		for _, c := range r.OnExitCodes.Values {
			if j, dup := ruleOf[c]; dup {
				t.Errorf("exit %d is named by rules %d and %d; only the first applies", c, j, i)
			}
			ruleOf[c] = i
		}
		if r.OnExitCodes.ContainerName == nil || *r.OnExitCodes.ContainerName != container {
			t.Errorf("rule %d: containerName should be %q", i, container)
		}
		for _, c := range r.OnExitCodes.Values {
			if !known[c] {
				t.Errorf("rule %d names exit %d, which main.go does not define", i, c)
			}
		}
	}
	// An explicit rule for the retried codes, so the policy reads as a table.
	for _, n := range []string{"exitFailure", "exitSIGTERM"} {
		explicit := false
		for _, r := range p.Rules {
			if r.OnExitCodes != nil && r.Action == batchv1.PodFailurePolicyActionCount && slices.Contains(r.OnExitCodes.Values, codes[n]) {
				explicit = true
			}
		}
		if !explicit {
			t.Errorf("exit %d (%s) has no explicit Count rule", codes[n], n)
		}
	}
	if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 {
		t.Error("no activeDeadlineSeconds")
	}
}

func checkCronJob(t *testing.T, cj *batchv1.CronJob, codes map[string]int32) {
	t.Helper()
	s := cj.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Error("no startingDeadlineSeconds")
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil || *s.FailedJobsHistoryLimit < 1 {
		t.Error("successfulJobsHistoryLimit and failedJobsHistoryLimit (≥ 1, to read a failed run's logs) must be set")
	}
	js := &s.JobTemplate.Spec
	if js.BackoffLimit == nil || *js.BackoffLimit < 1 {
		t.Error("backoffLimit must allow retries (exit 1 and 143 resume)")
	}
	if js.CompletionMode != nil && *js.CompletionMode == batchv1.IndexedCompletion {
		t.Error("the CronJob runs one shard")
	}
	checkExitCodes(t, js, codes, batchv1.PodFailurePolicyActionFailJob)
}

func checkIndexedJob(t *testing.T, js *batchv1.JobSpec, codes map[string]int32) {
	t.Helper()
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("completionMode must be Indexed ($JOB_COMPLETION_INDEX is the shard index)")
	}
	if js.Completions == nil || js.Parallelism == nil || *js.Completions < 2 || *js.Parallelism != *js.Completions {
		t.Fatalf("completions and parallelism must both be N ≥ 2")
	}
	if js.BackoffLimitPerIndex == nil || *js.BackoffLimitPerIndex < 1 {
		t.Error("backoffLimitPerIndex must let a failed shard retry alone")
	}
	checkExitCodes(t, js, codes, batchv1.PodFailurePolicyActionFailIndex)
}

// checkRejectsChoice checks that the CronJob, its config and docs/kubernetes.md's
// alert examples agree on what a run with rejected rows is (issue 16): the
// config's delivery.rejects_exit_code is 0 or main.go's exitRejects; with
// exitRejects the policy fails the Job without a retry (checkExitCodes);
// and docs/kubernetes.md alerts on insider_import_rows_rejected, on the last
// success time (which runs exiting 0 and 3 both set), and on a failure
// only for exit codes other than 0 and exitRejects.
func checkRejectsChoice(t *testing.T, js *batchv1.JobSpec, codes map[string]int32, code int32) {
	t.Helper()
	switch code {
	case codes["exitOK"]:
	case codes["exitRejects"]:
		if a := action(js.PodFailurePolicy, js.Template.Spec.Containers[0].Name, code); a != batchv1.PodFailurePolicyActionFailJob {
			t.Errorf("the CronJob's config exits %d on rejects, which the policy answers %s, not FailJob", code, a)
		}
	default:
		t.Errorf("delivery.rejects_exit_code %d: want %d or %d", code, codes["exitOK"], codes["exitRejects"])
	}
	readme, err := os.ReadFile("../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := bytes.Cut(readme, []byte("**5. Alert on the metric.**"))
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(after)
	if !ok || block == nil {
		t.Fatal("docs/kubernetes.md: no alert examples after **5. Alert on the metric.**")
	}
	var rules []struct{ Alert, Expr string }
	if err := yaml.UnmarshalStrict(block[1], &rules); err != nil {
		t.Fatalf("docs/kubernetes.md's alert examples: %v", err)
	}
	found := map[string]bool{}
	for _, r := range rules {
		switch {
		case strings.Contains(r.Expr, "insider_import_last_success_timestamp_seconds"):
			found["last success"] = true
		case strings.Contains(r.Expr, "insider_import_rows_rejected"):
			found["rejects"] = true
		case strings.Contains(r.Expr, "insider_import_exit_code"):
			found["failure"] = true
			for _, n := range []string{"exitOK", "exitRejects"} {
				if !strings.Contains(r.Expr, fmt.Sprintf("!= %d", codes[n])) {
					t.Errorf("docs/kubernetes.md alert %s fires on exit %d (%s): %s", r.Alert, codes[n], n, r.Expr)
				}
			}
		}
	}
	for _, k := range []string{"last success", "rejects", "failure"} {
		if !found[k] {
			t.Errorf("docs/kubernetes.md's alert examples have no %s alert", k)
		}
	}
}

// checkPod checks the pod template: image, user, read-only root, where it
// writes, config and key mounts, grace period, resources and shards. It
// returns the config's metrics.job and delivery.rejects_exit_code.
func checkPod(t *testing.T, m *manifests, js *batchv1.JobSpec, image string, uid int64, workdir string, shards int32) (metricsJob string, rejectsCode int32) {
	t.Helper()
	ps := &js.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(ps.Containers))
	}
	c := &ps.Containers[0]
	if c.Image != image {
		t.Errorf("image %q, want %q (make image)", c.Image, image)
	}
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: podFailurePolicy needs Never", ps.RestartPolicy)
	}

	// Who runs it, on what root filesystem.
	psc := ps.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != uid {
		t.Errorf("pod securityContext must set runAsNonRoot and runAsUser %d (the Dockerfile's USER)", uid)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile must be RuntimeDefault")
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("no container securityContext")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem must be true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation must be false")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("privileged")
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
		t.Error("capabilities: drop ALL, add none")
	case sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
		t.Error("container runAsNonRoot false")
	}
	for _, v := range ps.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}

	// Where it writes: only volumes. The checkpoint is in S3, so a retried
	// pod (a new pod, new emptyDirs) resumes.
	args := c.Args
	if cp, _ := flagValue(args, "checkpoint"); !strings.HasPrefix(cp, "s3://") || !strings.HasSuffix(cp, "/") {
		t.Errorf("--checkpoint=%q: want an s3://bucket/prefix/ shared by every run and shard (the default is beside the read-only config)", cp)
	}
	for _, f := range []string{"rejects", "report"} {
		if p, ok := flagValue(args, f); !ok || !writable(ps, c, p) {
			t.Errorf("--%s=%q must name a file on a writable volume (the default is beside the checkpoint or in the working directory)", f, p)
		}
	}
	if !writable(ps, c, "/tmp") {
		t.Error("/tmp must be a writable emptyDir")
	}
	if !writable(ps, c, workdir) {
		t.Errorf("the image's WORKDIR %s must be a writable volume", workdir)
	}

	// The config from the ConfigMap, the key from the Secret, read-only.
	cfgPath, ok := flagValue(args, "config")
	if !ok {
		t.Fatal("no --config")
	}
	mnt, vol := mountFor(ps, c, cfgPath)
	if mnt == nil || vol == nil || vol.ConfigMap == nil || !mnt.ReadOnly {
		t.Fatalf("--config=%s must be on a read-only ConfigMap volume", cfgPath)
	}
	cm := m.ConfigMaps[vol.ConfigMap.Name]
	if cm == nil {
		t.Fatalf("ConfigMap %s is not rendered", vol.ConfigMap.Name)
	}
	text, ok := cm.Data[path.Base(cfgPath)]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Name, path.Base(cfgPath))
	}
	var cfg struct {
		Insider map[string]any `json:"insider"`
		Metrics struct {
			Pushgateway string `json:"pushgateway"`
			Job         string `json:"job"`
		} `json:"metrics"`
		Delivery struct {
			RejectsExitCode *int32 `json:"rejects_exit_code"`
		} `json:"delivery"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("ConfigMap %s: %v", cm.Name, err)
	}
	keyPath, _ := cfg.Insider["api_key_file"].(string)
	mnt, vol = mountFor(ps, c, keyPath)
	if keyPath == "" || mnt == nil || vol == nil || vol.Secret == nil || !mnt.ReadOnly {
		t.Fatalf("insider.api_key_file %q must be on a read-only Secret volume", keyPath)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(keyPath, mnt.MountPath), "/")
	if len(vol.Secret.Items) > 0 && !slices.ContainsFunc(vol.Secret.Items, func(k corev1.KeyToPath) bool { return k.Path == rel }) {
		t.Errorf("Secret volume %s has no item at %s", vol.Name, rel)
	}
	if _, ok := cfg.Insider["api_key_env"]; ok {
		t.Error("the config names api_key_env; the key comes from the Secret file")
	}
	if cfg.Metrics.Pushgateway == "" || cfg.Metrics.Job == "" {
		t.Error("the config must set metrics.pushgateway and metrics.job")
	}
	metricsJob = cfg.Metrics.Job
	rejectsCode = 3 // the binary's default
	if cfg.Delivery.RejectsExitCode != nil {
		rejectsCode = *cfg.Delivery.RejectsExitCode
	}

	// The identity for S3 (IRSA / workload identity).
	sa := m.ServiceAccounts[ps.ServiceAccountName]
	if sa == nil {
		t.Fatalf("serviceAccountName %q is not rendered", ps.ServiceAccountName)
	}
	if _, ok := sa.Annotations["eks.amazonaws.com/role-arn"]; !ok {
		t.Error("the ServiceAccount has no IRSA annotation placeholder")
	}

	// SIGTERM: --grace for requests in flight, then the checkpoint is saved;
	// the kubelet must not SIGKILL before.
	g, ok := flagValue(args, "grace")
	if !ok {
		t.Fatal("no --grace: pass it so the grace period is checked against it")
	}
	grace, err := time.ParseDuration(g)
	if err != nil {
		t.Fatal(err)
	}
	if ps.TerminationGracePeriodSeconds == nil || time.Duration(*ps.TerminationGracePeriodSeconds)*time.Second <= grace {
		t.Errorf("terminationGracePeriodSeconds must exceed --grace=%s", g)
	}

	// Memory sized from the measured peak.
	req, lim := c.Resources.Requests[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceMemory]
	if req.Cmp(measuredPeakRSS) < 0 {
		t.Errorf("memory request %s is below the measured peak RSS %s", req.String(), measuredPeakRSS.String())
	}
	if lim.Cmp(req) < 0 || lim.IsZero() {
		t.Errorf("memory limit %s must be set and ≥ the request %s", lim.String(), req.String())
	}
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("no CPU request")
	}

	// Shards: N pods, N shards; the index comes from $JOB_COMPLETION_INDEX.
	n := int32(1)
	if s, ok := flagValue(args, "shard-count"); ok {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		n = int32(v)
	}
	if n != shards {
		t.Errorf("--shard-count=%d, want %d (completions)", n, shards)
	}
	if _, ok := flagValue(args, "shard-index"); ok {
		t.Error("--shard-index is set; it must come from $JOB_COMPLETION_INDEX")
	}
	return metricsJob, rejectsCode
}
