module github.com/credkit/credkit

go 1.25.0
