module github.com/wirebus/wirebus-go

go 1.19
