package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// k8sDir holds the manifests; kubectl apply -f takes every .yaml, .yml and
// .json file in it. The example Secret is decoded too, but kept out of
// kubectl's way by its name.
const (
	k8sDir        = "k8s"
	exampleSecret = "secret.yaml.example"
)

// manifests is every object under deploy/k8s, by kind and name.
type manifests struct {
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	pdbs         map[string]*policyv1.PodDisruptionBudget
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
}

// newObject returns an empty object of the type a document declares; only
// the kinds Lift ships are known, anything else is an error.
func newObject(tm metav1.TypeMeta) (metav1.Object, error) {
	switch tm.APIVersion + "/" + tm.Kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	}
	return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
}

// decodeStrict decodes one YAML document into its typed object, failing on
// fields the type does not have and on duplicate keys.
func decodeStrict(doc []byte) (metav1.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj, err := newObject(tm)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.Kind, tm.APIVersion, err)
	}
	return obj, nil
}

// splitDocuments returns the non-empty YAML documents of a file.
func splitDocuments(data []byte) ([][]byte, error) {
	r := yamlutil.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if j, err := yaml.YAMLToJSON(doc); err == nil && string(j) == "null" {
			continue // comments only
		}
		docs = append(docs, doc)
	}
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	entries, err := os.ReadDir(k8sDir)
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{
		deployments:  map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		services:     map[string]*corev1.Service{},
		pdbs:         map[string]*policyv1.PodDisruptionBudget{},
		configMaps:   map[string]*corev1.ConfigMap{},
		secrets:      map[string]*corev1.Secret{},
	}
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" {
			continue
		}
		if filepath.Ext(name) != ".yaml" && name != exampleSecret {
			t.Errorf("%s/%s: kubectl would apply it (or ignore it) untested; use .yaml", k8sDir, name)
			continue
		}
		data, err := os.ReadFile(filepath.Join(k8sDir, name))
		if err != nil {
			t.Fatal(err)
		}
		docs, err := splitDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, doc := range docs {
			obj, err := decodeStrict(doc)
			if err != nil {
				t.Errorf("%s, document %d: %v", name, i+1, err)
				continue
			}
			m.add(t, name, obj)
		}
	}
	return m
}

// add files obj by kind, checking what every object shares: a valid unique
// name, the part-of label, and no namespace (kubectl -n chooses it).
func (m *manifests) add(t *testing.T, file string, obj metav1.Object) {
	t.Helper()
	where := fmt.Sprintf("%s: %T %q", file, obj, obj.GetName())
	for _, msg := range validation.IsDNS1123Label(obj.GetName()) {
		t.Errorf("%s: name: %s", where, msg)
	}
	if obj.GetNamespace() != "" {
		t.Errorf("%s sets a namespace; leave it to kubectl -n", where)
	}
	if obj.GetLabels()["app.kubernetes.io/part-of"] != "lift" {
		t.Errorf("%s lacks label app.kubernetes.io/part-of: lift", where)
	}
	var dup bool
	switch o := obj.(type) {
	case *appsv1.Deployment:
		_, dup = m.deployments[o.Name]
		m.deployments[o.Name] = o
	case *appsv1.StatefulSet:
		_, dup = m.statefulSets[o.Name]
		m.statefulSets[o.Name] = o
	case *corev1.Service:
		_, dup = m.services[o.Name]
		m.services[o.Name] = o
	case *policyv1.PodDisruptionBudget:
		_, dup = m.pdbs[o.Name]
		m.pdbs[o.Name] = o
	case *corev1.ConfigMap:
		_, dup = m.configMaps[o.Name]
		m.configMaps[o.Name] = o
	case *corev1.Secret:
		if file != exampleSecret {
			t.Errorf("%s: a Secret in a .yaml file would overwrite the real one on every kubectl apply", where)
		}
		_, dup = m.secrets[o.Name]
		m.secrets[o.Name] = o
	}
	if dup {
		t.Errorf("%s is defined twice", where)
	}
}

// TestK8s_DecodingIsStrict proves the decoder rejects what kubectl would
// silently drop (or the API server reject at apply time).
func TestK8s_DecodingIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicaz: 2\n",
		"misplaced field": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 80, containerPort: 80}]\n",
		"duplicate key":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: a, A: b}\n",
		"unknown kind":    "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"wrong type":      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: two\n",
	} {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	docs, err := splitDocuments([]byte("# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"))
	if err != nil || len(docs) != 1 {
		t.Errorf("splitDocuments: %d documents, %v; want 1", len(docs), err)
	}
}
