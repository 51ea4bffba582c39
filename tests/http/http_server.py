"""HTTP/1.1 test server for the live tests: keep-alive, a fixed-length body
at /fixed/<n>, a chunked body at /chunked/<n> (in chunks of 7 bytes), and
request bodies read by Content-Length. Listens on 127.0.0.1:<port>."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n:
            self.rfile.read(n)

    def do_GET(self):
        self._read_body()
        parts = self.path.strip("/").split("/")
        n = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10
        body = b"x" * n
        if parts[0] == "chunked":
            self.send_response(200, "Chunked OK")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, n, 7):
                piece = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(body)

    do_POST = do_GET


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
