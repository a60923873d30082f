module github.com/liftlabs/lift/deploy

go 1.26.8
