module github.com/zabkeeper/zabkeeper

go 1.26
