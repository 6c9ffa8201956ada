// Command etcd is the etcd server at the version k8s.io/kubernetes itself is tested with (Debian's is too old
// for current kube-apiserver).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
