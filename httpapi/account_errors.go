package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
)

// The statuses of account self-service's codes (docs/reference.md section 16).
func init() {
	statusOf[gatehouse.EEmailUnverified] = http.StatusForbidden
	statusOf[gatehouse.EReauthenticationRequired] = http.StatusForbidden
}
