// k8s-validate: strict schema check of Kubernetes manifests with the real Go types.
//
// Every YAML document is decoded into its typed object (k8s.io/api) with strict
// decoding: unknown or duplicate fields are errors, as are kinds this tool does not
// know. Then basic cross-document checks: a Deployment's selector matches its pod
// template's labels; every volumeMount names a volume of its pod; a configMap volume
// names a ConfigMap of the input and a subPath from it names one of its keys; a pod's
// serviceAccountName names a ServiceAccount of the input; every Service selects a
// workload of the input and each targetPort is a port of one of its containers
// (by name or number); RBAC bindings name roles of the input.
//
// Usage: k8s-validate [-patch FILE]... FILE...   (flags before the files)
//        k8s-validate -kustomize DIR [-print]
// Files after -patch are strategic-merge patches: decoded strictly, not cross-checked.
// -kustomize renders DIR with the kustomize API (what `kubectl apply -k` runs) and checks
// the output; -print also writes the rendered YAML, then "---".
// Output: one line per problem, "file#doc kind/name: message"; exit 1 if any, 2 on bad
// usage, 0 with "ok: N documents".
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

type doc struct {
	where string
	kind  string
	name  string
	ns    string
	obj   any
}

func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "v1/Pod":
		return &corev1.Pod{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "rbac.authorization.k8s.io/v1/ClusterRole":
		return &rbacv1.ClusterRole{}, true
	case "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}, true
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}, true
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}, true
	}
	return nil, false
}

type problems struct{ list []string }

func (p *problems) add(where, format string, a ...any) {
	p.list = append(p.list, where+": "+fmt.Sprintf(format, a...))
}

func readDocs(file string, p *problems) []doc {
	data, err := os.ReadFile(file)
	if err != nil {
		p.add(file, "cannot read: %v", err)
		return nil
	}
	return parseDocs(file, data, p)
}

// renderKustomization runs kustomize (sigs.k8s.io/kustomize/api, as `kubectl kustomize`)
// on dir and returns its output.
func renderKustomization(dir string, p *problems) ([]byte, bool) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		p.add(dir, "kustomize: %v", err)
		return nil, false
	}
	out, err := rm.AsYaml()
	if err != nil {
		p.add(dir, "kustomize: %v", err)
		return nil, false
	}
	return out, true
}

func parseDocs(file string, data []byte, p *problems) []doc {
	var out []doc
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		where := fmt.Sprintf("%s#%d", file, i)
		if err != nil {
			p.add(where, "not YAML: %v", err)
			break
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(raw, &tm); err != nil {
			p.add(where, "not a Kubernetes object: %v", err)
			continue
		}
		obj, ok := newObject(tm.APIVersion, tm.Kind)
		if !ok {
			p.add(where, "unknown apiVersion/kind %q/%q", tm.APIVersion, tm.Kind)
			continue
		}
		// YAML -> JSON rejecting duplicate keys, then case-sensitive strict decoding
		// (encoding/json alone matches field names case-insensitively)
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			p.add(where, "%s: %v", tm.Kind, err)
			continue
		}
		strict, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
		if err != nil {
			p.add(where, "%s: %v", tm.Kind, err)
			continue
		}
		for _, e := range strict {
			p.add(where, "%s: %v", tm.Kind, e)
		}
		if len(strict) > 0 {
			continue
		}
		m := metaOf(obj)
		if m.GetName() == "" {
			p.add(where, "%s: metadata.name is empty", tm.Kind)
		}
		out = append(out, doc{where: where + " " + tm.Kind + "/" + m.GetName(), kind: tm.Kind, name: m.GetName(), ns: m.GetNamespace(), obj: obj})
	}
	return out
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func metaOf(o any) metav1.Object {
	if a, ok := o.(metav1.ObjectMetaAccessor); ok {
		return a.GetObjectMeta()
	}
	return &metav1.ObjectMeta{}
}

// podTemplate returns the pod template of a workload, if it is one.
func podTemplate(d doc) (*corev1.PodTemplateSpec, *metav1.LabelSelector, bool) {
	switch o := d.obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template, o.Spec.Selector, true
	case *appsv1.StatefulSet:
		return &o.Spec.Template, o.Spec.Selector, true
	case *appsv1.DaemonSet:
		return &o.Spec.Template, o.Spec.Selector, true
	case *batchv1.Job:
		return &o.Spec.Template, nil, true
	case *corev1.Pod:
		return &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}, nil, true
	}
	return nil, nil, false
}

func find(docs []doc, kind, ns, name string) *doc {
	for i := range docs {
		if docs[i].kind == kind && docs[i].name == name && (ns == "" || docs[i].ns == ns) {
			return &docs[i]
		}
	}
	return nil
}

func checkWorkload(d doc, docs []doc, p *problems) {
	tpl, sel, ok := podTemplate(d)
	if !ok {
		return
	}
	switch d.kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		if sel == nil {
			p.add(d.where, "spec.selector is required")
		} else if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			p.add(d.where, "spec.selector: %v", err)
		} else if s.Empty() || !s.Matches(labels.Set(tpl.Labels)) {
			p.add(d.where, "spec.selector %s does not match the template labels %v", s, tpl.Labels)
		}
	}
	spec := &tpl.Spec
	if len(spec.Containers) == 0 {
		p.add(d.where, "no containers")
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		if _, dup := vols[v.Name]; dup {
			p.add(d.where, "volume %q declared twice", v.Name)
		}
		vols[v.Name] = v
		if v.ConfigMap != nil && find(docs, "ConfigMap", d.ns, v.ConfigMap.Name) == nil && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
			p.add(d.where, "volume %q: ConfigMap %q is not in the input", v.Name, v.ConfigMap.Name)
		}
	}
	if sa := spec.ServiceAccountName; sa != "" && find(docs, "ServiceAccount", d.ns, sa) == nil {
		p.add(d.where, "serviceAccountName %q: no such ServiceAccount in the input", sa)
	}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	names := map[string]bool{}
	for _, c := range all {
		if names[c.Name] {
			p.add(d.where, "container name %q used twice", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" {
			p.add(d.where, "container %q: image is empty", c.Name)
		}
		portNames := map[string]bool{}
		for _, cp := range c.Ports {
			if cp.Name != "" {
				portNames[cp.Name] = true
			}
		}
		for _, probe := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if probe == nil {
				continue
			}
			for _, port := range []*intstr.IntOrString{tcpPort(probe), httpPort(probe)} {
				if port != nil && port.Type == intstr.String && !portNames[port.StrVal] {
					p.add(d.where, "container %q: probe port %q is not a named port of the container", c.Name, port.StrVal)
				}
			}
		}
		for _, m := range c.VolumeMounts {
			v, ok := vols[m.Name]
			if !ok {
				p.add(d.where, "container %q: volumeMount %q names no volume of the pod", c.Name, m.Name)
				continue
			}
			if m.SubPath != "" && v.ConfigMap != nil {
				if cm := find(docs, "ConfigMap", d.ns, v.ConfigMap.Name); cm != nil {
					if _, ok := cm.obj.(*corev1.ConfigMap).Data[m.SubPath]; !ok {
						p.add(d.where, "container %q: volumeMount %q subPath %q is not a key of ConfigMap %q", c.Name, m.Name, m.SubPath, v.ConfigMap.Name)
					}
				}
			}
		}
	}
}

func tcpPort(pr *corev1.Probe) *intstr.IntOrString {
	if pr.TCPSocket != nil {
		return &pr.TCPSocket.Port
	}
	return nil
}

func httpPort(pr *corev1.Probe) *intstr.IntOrString {
	if pr.HTTPGet != nil {
		return &pr.HTTPGet.Port
	}
	return nil
}

func checkService(d doc, docs []doc, p *problems) {
	svc, ok := d.obj.(*corev1.Service)
	if !ok || len(svc.Spec.Selector) == 0 {
		return
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var pods []*corev1.PodTemplateSpec
	for _, w := range docs {
		if tpl, _, ok := podTemplate(w); ok && w.ns == d.ns && sel.Matches(labels.Set(tpl.Labels)) {
			pods = append(pods, tpl)
		}
	}
	if len(pods) == 0 {
		p.add(d.where, "selector %s matches no workload in namespace %q of the input", sel, d.ns)
		return
	}
	for _, sp := range svc.Spec.Ports {
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		for _, tpl := range pods {
			found := false
			for _, c := range tpl.Spec.Containers {
				for _, cp := range c.Ports {
					if (target.Type == intstr.String && cp.Name == target.StrVal) || (target.Type == intstr.Int && cp.ContainerPort == target.IntVal) {
						found = found || cp.Protocol == sp.Protocol || (cp.Protocol == "" && sp.Protocol == "") || (cp.Protocol == "" && sp.Protocol == corev1.ProtocolTCP) || (sp.Protocol == "" && cp.Protocol == corev1.ProtocolTCP)
					}
				}
			}
			if !found {
				p.add(d.where, "port %q: targetPort %s is not a container port of the selected pods (%s)", sp.Name, target.String(), tpl.Labels)
			}
		}
	}
}

func checkBinding(d doc, docs []doc, p *problems) {
	var ref rbacv1.RoleRef
	var subjects []rbacv1.Subject
	switch o := d.obj.(type) {
	case *rbacv1.ClusterRoleBinding:
		ref, subjects = o.RoleRef, o.Subjects
	case *rbacv1.RoleBinding:
		ref, subjects = o.RoleRef, o.Subjects
	default:
		return
	}
	ns := ""
	if ref.Kind == "Role" {
		ns = d.ns
	}
	if find(docs, ref.Kind, ns, ref.Name) == nil {
		p.add(d.where, "roleRef %s %q is not in the input", ref.Kind, ref.Name)
	}
	for _, s := range subjects {
		if s.Kind == "ServiceAccount" && find(docs, "ServiceAccount", s.Namespace, s.Name) == nil {
			p.add(d.where, "subject ServiceAccount %s/%s is not in the input", s.Namespace, s.Name)
		}
	}
}

type patchFiles []string

func (f *patchFiles) String() string     { return strings.Join(*f, ",") }
func (f *patchFiles) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var patches patchFiles
	flag.Var(&patches, "patch", "a strategic-merge patch file: strict decoding only (repeatable)")
	kustomize := flag.String("kustomize", "", "render this kustomization directory (kustomize API) and check its output instead of FILEs")
	print := flag.Bool("print", false, "with -kustomize: print the rendered YAML to stdout before the result")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: k8s-validate [-patch FILE]... FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if (flag.NArg() == 0) == (*kustomize == "") {
		flag.Usage()
		os.Exit(2)
	}
	p := &problems{}
	var docs []doc
	if *kustomize != "" {
		if rendered, ok := renderKustomization(*kustomize, p); ok {
			if *print {
				fmt.Print(string(rendered))
				fmt.Println("---")
			}
			docs = parseDocs(*kustomize+"(rendered)", rendered, p)
		}
	}
	for _, f := range flag.Args() {
		docs = append(docs, readDocs(f, p)...)
	}
	n := len(docs)
	for _, f := range patches {
		n += len(readDocs(f, p))
	}
	for _, d := range docs {
		checkWorkload(d, docs, p)
		checkService(d, docs, p)
		checkBinding(d, docs, p)
	}
	for _, l := range p.list {
		fmt.Println(l)
	}
	if len(p.list) > 0 {
		os.Exit(1)
	}
	fmt.Printf("ok: %d documents\n", n)
}
