// Command kstatus prints the kstatus verdict (sigs.k8s.io/cli-utils/pkg/kstatus) of one Kubernetes object,
// read as JSON or YAML from standard input: the health Flux's `wait` and Argo CD-style tools show.
// Output is one JSON line: {"status":"Current|InProgress|Failed|Terminating|NotFound|Unknown","message":...}.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	// Through JSON into Unstructured, so numbers come out as int64 (generation, observedGeneration) as they
	// do from the API server, not as the float64 a plain YAML decode gives.
	document, err := yaml.YAMLToJSON(input)
	if err != nil {
		fail(fmt.Errorf("reading the object: %w", err))
	}
	object := &unstructured.Unstructured{}
	if err := object.UnmarshalJSON(document); err != nil {
		fail(fmt.Errorf("reading the object: %w", err))
	}
	result, err := status.Compute(object)
	if err != nil {
		fail(err)
	}
	out, err := json.Marshal(map[string]string{"status": result.Status.String(), "message": result.Message})
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kstatus:", err)
	os.Exit(1)
}
