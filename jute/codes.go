package jute

import "fmt"

// Code is a ZooKeeper error code (KeeperException.Code). The non-zero codes
// are this project's sentinel errors: compare with errors.Is(err, ErrNoNode).
type Code int32

func (c Code) Error() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("zookeeper error %d", int32(c))
}

// Name is the code's name as KeeperException spells it.
func (c Code) Name() string { return c.Error() }

// Err turns a code read off the wire into an error: nil for OK.
func (c Code) Err() error {
	if c == OK {
		return nil
	}
	return c
}

// CodeOf maps an error back to its wire code: OK for nil, the code itself for
// a Code anywhere in the chain, SystemError for anything else.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var c Code
	for e := err; e != nil; {
		if cc, ok := e.(Code); ok {
			c = cc
			return c
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return ErrSystemError
}

// OK and the error codes, one sentinel per ZooKeeper code.
const (
	OK                              Code = 0
	ErrSystemError                  Code = -1
	ErrRuntimeInconsistency         Code = -2
	ErrDataInconsistency            Code = -3
	ErrConnectionLoss               Code = -4
	ErrMarshallingError             Code = -5
	ErrUnimplemented                Code = -6
	ErrOperationTimeout             Code = -7
	ErrBadArguments                 Code = -8
	ErrUnknownSession               Code = -12
	ErrNewConfigNoQuorum            Code = -13
	ErrReconfigInProgress           Code = -14
	ErrAPIError                     Code = -100
	ErrNoNode                       Code = -101
	ErrNoAuth                       Code = -102
	ErrBadVersion                   Code = -103
	ErrNoChildrenForEphemerals      Code = -108
	ErrNodeExists                   Code = -110
	ErrNotEmpty                     Code = -111
	ErrSessionExpired               Code = -112
	ErrInvalidCallback              Code = -113
	ErrInvalidACL                   Code = -114
	ErrAuthFailed                   Code = -115
	ErrSessionMoved                 Code = -118
	ErrNotReadOnly                  Code = -119
	ErrEphemeralOnLocalSession      Code = -120
	ErrNoWatcher                    Code = -121
	ErrRequestTimeout               Code = -122
	ErrReconfigDisabled             Code = -123
	ErrSessionClosedRequireSaslAuth Code = -124
	ErrQuotaExceeded                Code = -125
	ErrThrottledOp                  Code = -127
)

var codeNames = map[Code]string{
	OK:                              "OK",
	ErrSystemError:                  "SystemError",
	ErrRuntimeInconsistency:         "RuntimeInconsistency",
	ErrDataInconsistency:            "DataInconsistency",
	ErrConnectionLoss:               "ConnectionLoss",
	ErrMarshallingError:             "MarshallingError",
	ErrUnimplemented:                "Unimplemented",
	ErrOperationTimeout:             "OperationTimeout",
	ErrBadArguments:                 "BadArguments",
	ErrUnknownSession:               "UnknownSession",
	ErrNewConfigNoQuorum:            "NewConfigNoQuorum",
	ErrReconfigInProgress:           "ReconfigInProgress",
	ErrAPIError:                     "APIError",
	ErrNoNode:                       "NoNode",
	ErrNoAuth:                       "NoAuth",
	ErrBadVersion:                   "BadVersion",
	ErrNoChildrenForEphemerals:      "NoChildrenForEphemerals",
	ErrNodeExists:                   "NodeExists",
	ErrNotEmpty:                     "NotEmpty",
	ErrSessionExpired:               "SessionExpired",
	ErrInvalidCallback:              "InvalidCallback",
	ErrInvalidACL:                   "InvalidACL",
	ErrAuthFailed:                   "AuthFailed",
	ErrSessionMoved:                 "SessionMoved",
	ErrNotReadOnly:                  "NotReadOnly",
	ErrEphemeralOnLocalSession:      "EphemeralOnLocalSession",
	ErrNoWatcher:                    "NoWatcher",
	ErrRequestTimeout:               "RequestTimeout",
	ErrReconfigDisabled:             "ReconfigDisabled",
	ErrSessionClosedRequireSaslAuth: "SessionClosedRequireSaslAuth",
	ErrQuotaExceeded:                "QuotaExceeded",
	ErrThrottledOp:                  "ThrottledOp",
}
