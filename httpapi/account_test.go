package httpapi

func init() {
	noSecretRoutes["POST /v1/auth/password-reset"] = "no secret is checked; password_reset.email is applied by the guard, and never refuses (TestPasswordResetNeverRefusesPerAddress)"
}
