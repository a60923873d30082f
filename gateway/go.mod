module github.com/liftlabs/lift/gateway

go 1.26.8
