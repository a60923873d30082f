module github.com/liftlabs/lift/services/identity

go 1.26.8
