module github.com/liftlabs/lift/pkg

go 1.26.8
