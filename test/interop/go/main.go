// Command peer is a go-libp2p libp2p+HTTP peer for libp2phttp's interop tests
// (test/interop/go.test.ts). It serves over /http/1.1 streams and HTTPS, and
// acts as a client on commands read from stdin, one JSON object per line; each
// answer is one JSON line on stdout carrying the command's id. The first line on
// stdout describes the peer (id and addresses). Nothing else goes to stdout.
//
// Test routes (outside any protocol): /echo (the request as the server saw
// it), /bytes?n=N[&chunked=1] (N pattern bytes), /sse (an event, then waits for
// /release before the rest), /release; everything else is 404. Protocols in the
// well-known map: /kv/1 at /kv-go/, /http-ping/1, /auth/1 at /auth/ (Peer ID
// Authentication as go checks it: TLS with Host equal to the TLS server name)
// and /auth-host/1 at /auth-host/ (NoTLS mode: any TLS server name, Host
// checked by an allow-list, as a server behind a TLS terminator).
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	libp2phttp "github.com/libp2p/go-libp2p/p2p/http"
	httpauth "github.com/libp2p/go-libp2p/p2p/http/auth"
	httpping "github.com/libp2p/go-libp2p/p2p/http/ping"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// patternByte is byte i of every generated body; the tests compute the same.
func patternByte(i int) byte { return byte((i*31 + 7) & 0xff) }

type patternReader struct{ n, off int }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := 0
	for k < len(b) && p.off < p.n {
		b[k] = patternByte(p.off)
		k++
		p.off++
	}
	return k, nil
}

// command is one line of stdin.
type command struct {
	ID  int    `json:"id"`
	Op  string `json:"op"` // fetch | client | wellknown | ping | quit
	URL string `json:"url"`
	// For client, wellknown, ping: the server and its addresses.
	Peer     string   `json:"peer"`
	Addrs    []string `json:"addrs"`
	Protocol string   `json:"protocol"`
	Path     string   `json:"path"`

	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	// BodySize sends that many pattern bytes (instead of Body).
	BodySize int `json:"bodySize"`
	// Chunked sends the body without a Content-Length (Transfer-Encoding: chunked).
	Chunked bool `json:"chunked"`
	// ThenGet: once the first body bytes arrived, GET this URL, then read the rest.
	ThenGet string `json:"thenGet"`
	// PreferHTTP picks the HTTP transport in NewConstrainedRoundTripper.
	PreferHTTP bool `json:"preferHTTP"`
	TimeoutMs  int  `json:"timeoutMs"`
}

type answer struct {
	ID         int               `json:"id"`
	Status     int               `json:"status,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body,omitempty"`
	BodyLen    int               `json:"bodyLen"`
	BodySha256 string            `json:"bodySha256,omitempty"`
	FirstChunk string            `json:"firstChunk,omitempty"`
	ServerPeer string            `json:"serverPeer,omitempty"`
	HadToken   bool              `json:"hadToken,omitempty"`
	Map        map[string]any    `json:"map,omitempty"`
	Error      string            `json:"error,omitempty"`
}

var out = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(v any) {
	out.Lock()
	defer out.Unlock()
	_ = out.enc.Encode(v)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peer: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	certFile := flag.String("cert", "", "PEM certificate of the HTTPS listeners")
	keyFile := flag.String("key", "", "PEM key of the HTTPS listeners")
	caFile := flag.String("ca", "", "PEM certificate(s) the client trusts")
	try443 := flag.Bool("try443", false, "also listen on 127.0.0.1:443 (HTTPS) when it can be bound")
	flag.Parse()

	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		fail("key: %v", err)
	}
	streamHost, err := libp2p.New(
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
	)
	if err != nil {
		fail("libp2p: %v", err)
	}
	defer streamHost.Close()

	clientTransport := &http.Transport{TLSClientConfig: &tls.Config{}}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail("ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("ca: no certificate in %s", *caFile)
		}
		clientTransport.TLSClientConfig.RootCAs = pool
	}

	h := &libp2phttp.Host{
		StreamHost:                streamHost,
		DefaultClientRoundTripper: clientTransport,
		ClientPeerIDAuth:          &httpauth.ClientPeerIDAuth{PrivKey: priv, TokenTTL: time.Hour},
	}
	listen443 := false
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fail("cert: %v", err)
		}
		h.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		h.ListenAddrs = []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/0/tls/http")}
		if *try443 {
			// Probe: the Host's Serve fails as a whole when one listener cannot bind.
			if l, err := net.Listen("tcp", "127.0.0.1:443"); err == nil {
				l.Close()
				listen443 = true
				h.ListenAddrs = append(h.ListenAddrs, ma.StringCast("/ip4/127.0.0.1/tcp/443/tls/http"))
			}
		}
	}

	mountRoutes(h, priv)

	served := make(chan error, 1)
	go func() { served <- h.Serve() }()
	addrs := h.Addrs() // waits for the listeners
	select {
	case err := <-served:
		fail("serve: %v", err)
	default:
	}
	var streamAddrs, httpAddrs []string
	for _, a := range addrs {
		if _, err := a.ValueForProtocol(ma.P_HTTP); err == nil {
			httpAddrs = append(httpAddrs, a.String())
		} else if _, err := a.ValueForProtocol(ma.P_HTTPS); err == nil {
			httpAddrs = append(httpAddrs, a.String())
		} else {
			streamAddrs = append(streamAddrs, a.String())
		}
	}
	emit(map[string]any{"peerId": streamHost.ID().String(), "streamAddrs": streamAddrs, "httpAddrs": httpAddrs, "listen443": listen443})

	var wg sync.WaitGroup
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	for lines.Scan() {
		var c command
		if err := json.Unmarshal(lines.Bytes(), &c); err != nil {
			fail("bad command: %v", err)
		}
		if c.Op == "quit" {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			emit(run(h, c))
		}()
	}
	// stdin closed (the test ended or died): stop.
	h.Close()
}

var release = struct {
	sync.Mutex
	ch chan struct{}
}{ch: make(chan struct{})}

func mountRoutes(h *libp2phttp.Host, priv crypto.PrivKey) {
	mux := http.NewServeMux()
	h.ServeMux = mux
	mux.HandleFunc("/echo", echo)
	mux.HandleFunc("/echo/", echo)
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if r.URL.Query().Get("chunked") != "" {
			// Without a flush, net/http gives a short answer a Content-Length of its own.
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
		}
		_, _ = io.Copy(w, &patternReader{n: n})
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		release.Lock()
		ch := release.ch
		release.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-ch:
			fmt.Fprint(w, "data: two\n\ndata: three\n\n")
		case <-time.After(10 * time.Second):
			fmt.Fprint(w, "data: timeout\n\n")
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/release", func(w http.ResponseWriter, r *http.Request) {
		release.Lock()
		close(release.ch)
		release.ch = make(chan struct{})
		release.Unlock()
		fmt.Fprint(w, "released")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
	})

	h.SetHTTPHandlerAtPath("/kv/1", "/kv-go/", http.HandlerFunc(echo))
	h.SetHTTPHandler(httpping.PingProtocolID, httpping.Ping{})
	// hits counts the requests that reached the auth endpoints, handshake steps included: a
	// request made with a reused token adds one.
	var hits atomic.Int64
	counted := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			next.ServeHTTP(w, r)
		})
	}
	authed := func(p peer.ID, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello %s %s %q hits=%d", p, r.Method, readAllString(r.Body), hits.Load())
	}
	h.SetHTTPHandlerAtPath("/auth/1", "/auth/", counted(&httpauth.ServerPeerIDAuth{PrivKey: priv, TokenTTL: time.Hour, Next: authed}))
	h.SetHTTPHandlerAtPath("/auth-host/1", "/auth-host/", counted(&httpauth.ServerPeerIDAuth{
		PrivKey: priv, TokenTTL: time.Hour, Next: authed, NoTLS: true,
		ValidHostnameFn: func(hostname string) bool {
			name, _, err := net.SplitHostPort(hostname)
			if err != nil {
				name = hostname
			}
			return name == "localhost" || name == "127.0.0.1"
		},
	}))
}

func readAllString(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

// echo answers with the request as this server saw it.
func echo(w http.ResponseWriter, r *http.Request) {
	sum := sha256.New()
	n, err := io.Copy(sum, r.Body)
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	res := map[string]any{
		"method":           r.Method,
		"requestURI":       r.RequestURI,
		"path":             r.URL.Path,
		"rawQuery":         r.URL.RawQuery,
		"host":             r.Host,
		"headers":          headers,
		"contentLength":    r.ContentLength,
		"transferEncoding": r.TransferEncoding,
		"bodyLen":          n,
		"bodySha256":       hex.EncodeToString(sum.Sum(nil)),
		"peer":             libp2phttp.ClientPeerID(r).String(),
		"tls":              r.TLS != nil,
	}
	if err != nil {
		res["bodyError"] = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func run(h *libp2phttp.Host, c command) answer {
	timeout := 20 * time.Second
	if c.TimeoutMs > 0 {
		timeout = time.Duration(c.TimeoutMs) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a, err := runOp(ctx, h, c)
	a.ID = c.ID
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

func addrInfo(c command) (peer.AddrInfo, error) {
	var info peer.AddrInfo
	if c.Peer != "" {
		id, err := peer.Decode(c.Peer)
		if err != nil {
			return info, err
		}
		info.ID = id
	}
	for _, s := range c.Addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return info, err
		}
		info.Addrs = append(info.Addrs, a)
	}
	return info, nil
}

func runOp(ctx context.Context, h *libp2phttp.Host, c command) (answer, error) {
	var opts []libp2phttp.RoundTripperOption
	if c.PreferHTTP {
		opts = append(opts, libp2phttp.PreferHTTPTransport)
	}
	switch c.Op {
	case "fetch":
		// The Host as an http.Client's transport: multiaddr URIs (streams or
		// HTTPS, Peer ID Auth when an HTTPS address names its peer) and URLs.
		return do(ctx, &http.Client{Transport: h}, h, c, c.URL)
	case "client":
		info, err := addrInfo(c)
		if err != nil {
			return answer{}, err
		}
		client, err := h.NamespacedClient(protocol.ID(c.Protocol), info, opts...)
		if err != nil {
			return answer{}, err
		}
		return do(ctx, &client, h, c, c.Path)
	case "wellknown":
		info, err := addrInfo(c)
		if err != nil {
			return answer{}, err
		}
		h.RemovePeerMetadata(info.ID)
		rt, err := h.NewConstrainedRoundTripper(info, opts...)
		if err != nil {
			return answer{}, err
		}
		meta, err := rt.(libp2phttp.PeerMetadataGetter).GetPeerMetadata()
		if err != nil {
			return answer{}, err
		}
		m := map[string]any{}
		for p, v := range meta {
			m[string(p)] = v
		}
		return answer{Map: m}, nil
	case "ping":
		info, err := addrInfo(c)
		if err != nil {
			return answer{}, err
		}
		client, err := h.NamespacedClient(httpping.PingProtocolID, info, opts...)
		if err != nil {
			return answer{}, err
		}
		return answer{}, httpping.SendPing(client)
	}
	return answer{}, fmt.Errorf("unknown op %q", c.Op)
}

// hostOf is the Host a request to u carries, the key of go's token map: for a
// multiaddr URI, its name or address and TCP port as libp2phttp.Host writes them.
func hostOf(u *url.URL) string {
	if u.Scheme != "multiaddr" {
		return u.Host
	}
	addr, err := ma.NewMultiaddr(strings.TrimPrefix(u.String(), "multiaddr:"))
	if err != nil {
		return ""
	}
	var name, port string
	ma.ForEach(addr, func(c ma.Component) bool {
		switch c.Protocol().Code {
		case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
			name = c.Value()
		case ma.P_TCP:
			port = c.Value()
		}
		return true
	})
	return name + ":" + port
}

type onlyReader struct{ io.Reader }

func do(ctx context.Context, client *http.Client, h *libp2phttp.Host, c command, target string) (answer, error) {
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	size := int64(0)
	if c.BodySize > 0 {
		body, size = &patternReader{n: c.BodySize}, int64(c.BodySize)
	} else if c.Body != "" {
		body, size = strings.NewReader(c.Body), int64(len(c.Body))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.ContentLength = size
		n := c.BodySize
		text := c.Body
		req.GetBody = func() (io.ReadCloser, error) {
			if n > 0 {
				return io.NopCloser(&patternReader{n: n}), nil
			}
			return io.NopCloser(strings.NewReader(text)), nil
		}
		if c.Chunked {
			req.ContentLength = -1
			req.Body = io.NopCloser(onlyReader{body})
		}
	}
	for k, v := range c.Headers {
		if strings.EqualFold(k, "host") {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	var a answer
	hostname := req.Host
	if hostname == "" {
		hostname = hostOf(req.URL)
	}
	a.HadToken = hostname != "" && h.ClientPeerIDAuth.HasToken(hostname)
	res, err := client.Do(req)
	if err != nil {
		return a, err
	}
	defer res.Body.Close()
	a.Status = res.StatusCode
	a.Headers = map[string]string{}
	for k, v := range res.Header {
		a.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	if id := libp2phttp.ServerPeerID(res); id != "" {
		a.ServerPeer = id.String()
	}
	sum := sha256.New()
	var kept []byte
	if c.ThenGet != "" {
		buf := make([]byte, 4096)
		n, err := res.Body.Read(buf)
		if n == 0 && err != nil {
			return a, fmt.Errorf("first read: %w", err)
		}
		a.FirstChunk = string(buf[:n])
		sum.Write(buf[:n])
		kept = append(kept, buf[:n]...)
		a.BodyLen = n
		rel, err := http.NewRequestWithContext(ctx, http.MethodGet, c.ThenGet, nil)
		if err != nil {
			return a, err
		}
		relRes, err := client.Do(rel)
		if err != nil {
			return a, fmt.Errorf("thenGet: %w", err)
		}
		_, _ = io.Copy(io.Discard, relRes.Body)
		relRes.Body.Close()
	}
	buf := make([]byte, 64*1024)
	for {
		n, err := res.Body.Read(buf)
		sum.Write(buf[:n])
		a.BodyLen += n
		if len(kept) < 64*1024 {
			kept = append(kept, buf[:n]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return a, err
		}
	}
	a.BodySha256 = hex.EncodeToString(sum.Sum(nil))
	if a.BodyLen <= 64*1024 {
		a.Body = string(kept)
	}
	return a, nil
}
