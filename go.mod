module github.com/holdfast-tls/holdfast

go 1.26.0

require golang.org/x/sys v0.49.0

require golang.org/x/crypto v0.58.0

require github.com/miekg/pkcs11 v1.1.2
