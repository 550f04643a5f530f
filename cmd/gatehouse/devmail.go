package main

import (
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gatehouse-auth/gatehouse/web"
)

// devMail serves, under `serve --dev` only, the mail gatehouse wrote into
// dir: GET /dev/mail lists it (newest first) and GET /dev/mail/{file} shows
// one message's plain-text part with its links. Everything else goes to
// next. Pages carry the portal's security headers (its CSP: no script at
// all here). Without --dev, nothing is mounted and /dev/mail is a 404.
func devMail(dir string, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dev/mail", func(w http.ResponseWriter, r *http.Request) {
		web.SetSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		devMailList.Execute(w, listMail(dir))
	})
	mux.HandleFunc("GET /dev/mail/{file}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if !devMailName.MatchString(name) {
			http.NotFound(w, r)
			return
		}
		m, ok := readMail(filepath.Join(dir, name))
		if !ok {
			http.NotFound(w, r)
			return
		}
		web.SetSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		devMailShow.Execute(w, m)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dev/mail" || strings.HasPrefix(r.URL.Path, "/dev/mail/") {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var devMailName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}\.eml$`)
var devMailLink = regexp.MustCompile(`https?://[^\s"<>]+`)

type devMessage struct {
	File, To, Subject, Date, Text string
	Links                         []string
}

func listMail(dir string) []devMessage {
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	sort.Sort(sort.Reverse(sort.StringSlice(files)))
	if len(files) > 200 {
		files = files[:200]
	}
	var out []devMessage
	for _, f := range files {
		if m, ok := readMail(f); ok {
			out = append(out, m)
		}
	}
	return out
}

// readMail reads an .eml file: its headers and its plain-text part.
func readMail(path string) (devMessage, bool) {
	f, err := os.Open(path)
	if err != nil {
		return devMessage{}, false
	}
	defer f.Close()
	msg, err := mail.ReadMessage(io.LimitReader(f, 1<<20))
	if err != nil {
		return devMessage{}, false
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subj = msg.Header.Get("Subject")
	}
	m := devMessage{File: filepath.Base(path), To: msg.Header.Get("To"), Subject: subj, Date: msg.Header.Get("Date")}
	mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	var text []byte
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable itself
			if err != nil {
				break
			}
			if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "text/plain" {
				text, _ = io.ReadAll(io.LimitReader(p, 1<<20))
				break
			}
		}
	} else {
		var r io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		text, _ = io.ReadAll(io.LimitReader(r, 1<<20))
	}
	m.Text = strings.ReplaceAll(string(text), "\r\n", "\n")
	m.Links = devMailLink.FindAllString(m.Text, 10)
	return m, true
}

var devMailList = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mail written by gatehouse --dev</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Mail written by gatehouse --dev</h1>
<p>Shown only under <code>serve --dev</code>. Newest first.</p>
{{if .}}<table><thead><tr><th scope="col">Date</th><th scope="col">To</th><th scope="col">Subject</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Date}}</td><td>{{.To}}</td><td><a href="/dev/mail/{{.File}}">{{.Subject}}</a></td></tr>
{{end}}</tbody></table>{{else}}<p>No mail yet.</p>{{end}}
</main></body></html>
`))

var devMailShow = template.Must(template.New("show").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><p><a href="/dev/mail">All mail</a></p>
<h1>{{.Subject}}</h1><p>To: {{.To}}<br>Date: {{.Date}}</p>
{{if .Links}}<h2>Links</h2><ul>{{range .Links}}<li><a href="{{.}}">{{.}}</a></li>{{end}}</ul>{{end}}
<h2>Text</h2><pre>{{.Text}}</pre>
</main></body></html>
`))
