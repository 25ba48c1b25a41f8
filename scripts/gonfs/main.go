// nfsprop-gonfs serves one directory over NFSv3 and MOUNT v3 with go-nfs (v0.0.4), on
// 127.0.0.1 only: the second foreign server the suite runs against (properties/peers/gonfs.py).
//
// Usage: nfsprop-gonfs DIRECTORY [PORT]   (PORT 0 or absent: any free port)
// It prints one line, "listening on 127.0.0.1:PORT", once it accepts connections.
package main

import (
	"fmt"
	"net"
	"os"

	"github.com/go-git/go-billy/v5/osfs"
	nfs "github.com/willscott/go-nfs"
	nfshelper "github.com/willscott/go-nfs/helpers"
)

// handleCacheSize is how many handles the in-memory handle cache keeps.
const handleCacheSize = 1 << 16

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: nfsprop-gonfs DIRECTORY [PORT]")
		os.Exit(2)
	}
	port := "0"
	if len(os.Args) == 3 {
		port = os.Args[2]
	}
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "nfsprop-gonfs: cannot listen on 127.0.0.1:%s: %v\n", port, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", listener.Addr())
	handler := nfshelper.NewNullAuthHandler(osfs.New(os.Args[1]))
	served := nfs.Serve(listener, nfshelper.NewCachingHandler(handler, handleCacheSize))
	fmt.Fprintf(os.Stderr, "nfsprop-gonfs: %v\n", served)
	os.Exit(1)
}
