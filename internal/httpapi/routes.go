package httpapi

import "github.com/prometheus/client_golang/prometheus/promhttp"

// routes registers the whole API, one line per route; the IAM routes only
// when the server authenticates.
func (s *Server) routes() {
	s.handle("POST /v1/{project_id}/models", s.handleModelCreate)
	s.handle("GET /v1/{project_id}/models", s.handleModelList)
	s.handle("GET /v1/{project_id}/models/ai-engine-runtimes", s.handleRuntimeList)
	s.handle("GET /v1/{project_id}/models/{model_id}", s.handleModelGet)
	s.handle("DELETE /v1/{project_id}/models/{model_id}", s.handleModelDelete)

	s.handle("POST /v1/{project_id}/services", s.handleServiceCreate)
	s.handle("GET /v1/{project_id}/services", s.handleServiceList)
	s.handle("GET /v1/{project_id}/services/specifications", s.handleFlavorList)
	s.handle("GET /v1/{project_id}/services/{service_id}", s.handleServiceGet)
	s.handle("PUT /v1/{project_id}/services/{service_id}", s.handleServiceUpdate)
	s.handle("DELETE /v1/{project_id}/services/{service_id}", s.handleServiceDelete)
	s.handle("GET /v1/{project_id}/services/{service_id}/events", s.handleServiceEvents)
	s.handle("GET /v1/{project_id}/services/{service_id}/logs", s.handleServiceUpdateLogs)
	s.handle("GET /v1/{project_id}/services/{service_id}/monitor", s.handleServiceMonitor)
	s.handle("GET /v1/{project_id}/clusters", s.handleClusterList)

	if s.auth != nil { // the IAM routes (iam.go)
		s.handle("POST /v3/auth/tokens", s.handleTokenCreate)
		s.handle("DELETE /v3/auth/tokens", s.handleTokenDelete)
		s.handle("GET /v3/projects", s.handleProjectList)
		s.handle("POST /v3/projects", s.handleProjectCreate)
		s.handle("GET /v3/users", s.handleUserList)
		s.handle("POST /v3/users", s.handleUserCreate)
		s.handle("PATCH /v3/users/{user_id}", s.handleUserUpdate)
		s.handle("POST /v3.0/OS-CREDENTIAL/credentials", s.handleCredentialCreate)
		s.handle("GET /v3.0/OS-CREDENTIAL/credentials", s.handleCredentialList)
		s.handle("DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}", s.handleCredentialDelete)
	}
	// modelreg extensions: model files in and out (upload.go, file.go).
	s.handle("POST /modelreg/v1/{project_id}/uploads", s.handleUploadCreate)
	s.handle("PUT /modelreg/v1/{project_id}/uploads/{upload_id}/files/{path...}", s.handleUploadFile)
	s.handle("POST /modelreg/v1/{project_id}/uploads/{upload_id}/commit", s.handleUploadCommit)
	s.handle("DELETE /modelreg/v1/{project_id}/uploads/{upload_id}", s.handleUploadDelete)
	s.handle("GET /modelreg/v1/{project_id}/models/{model_id}/files", s.handleModelFiles)
	s.handle("GET /modelreg/v1/{project_id}/models/{model_id}/files/{path...}", s.handleModelFileGet)
	// modelreg extensions: protection and the trash (trash.go).
	s.handle("GET /modelreg/v1/{project_id}/models/{model_id}/protection", s.handleProtectionGet)
	s.handle("PUT /modelreg/v1/{project_id}/models/{model_id}/protection", s.handleProtectionPut)
	s.handle("GET /modelreg/v1/{project_id}/trash", s.handleTrashList)
	s.handle("DELETE /modelreg/v1/{project_id}/trash", s.handleTrashPurgeAll)
	s.handle("POST /modelreg/v1/{project_id}/trash/{model_id}/restore", s.handleTrashRestore)
	s.handle("DELETE /modelreg/v1/{project_id}/trash/{model_id}", s.handleTrashPurge)
	// modelreg extensions: the audit trail, webhooks, cleanup policies (audit.go).
	s.handle("GET /modelreg/v1/{project_id}/events", s.handleEventList)
	s.handle("POST /modelreg/v1/{project_id}/webhooks", s.handleWebhookCreate)
	s.handle("GET /modelreg/v1/{project_id}/webhooks", s.handleWebhookList)
	s.handle("DELETE /modelreg/v1/{project_id}/webhooks/{webhook_id}", s.handleWebhookDelete)
	s.handle("GET /modelreg/v1/{project_id}/webhooks/{webhook_id}/deliveries", s.handleWebhookDeliveries)
	s.handle("POST /modelreg/v1/{project_id}/cleanup-policies", s.handlePolicyCreate)
	s.handle("GET /modelreg/v1/{project_id}/cleanup-policies", s.handlePolicyList)
	s.handle("GET /modelreg/v1/{project_id}/cleanup-policies/{policy_id}", s.handlePolicyGet)
	s.handle("PUT /modelreg/v1/{project_id}/cleanup-policies/{policy_id}", s.handlePolicyUpdate)
	s.handle("DELETE /modelreg/v1/{project_id}/cleanup-policies/{policy_id}", s.handlePolicyDelete)
	s.handle("POST /modelreg/v1/{project_id}/cleanup-policies/{policy_id}/preview", s.handlePolicyPreview)
	// modelreg extensions: bulk creation and the bare HTTP stack.
	s.handle("POST /modelreg/v1/{project_id}/models:bulk", s.handleModelBulkCreate)
	// modelreg extension: per-name aggregates for a grouped model list (modelnames.go).
	s.handle("GET /modelreg/v1/{project_id}/model-names", s.handleModelNames)
	s.handle("GET /modelreg/v1/ping", s.handlePing)
	if s.deployerSecret != nil { // the orchestrator's reports (deployer.go)
		s.handle("POST /modelreg/v1/deployer/reports", s.handleDeployReport)
	}

	s.handle("GET /healthz", s.handleHealth)
	s.handle("GET /readyz", s.handleReady)
	s.handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP)

	s.mountConsole() // the web console (console.go), not part of the API
}
