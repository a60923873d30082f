module github.com/liftlabs/lift/services/experiments

go 1.26.8
