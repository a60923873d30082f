module github.com/liftlabs/lift/services/results

go 1.26.8
