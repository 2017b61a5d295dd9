package api

// Project is MediaPocket's project object. hookd's registry knows only ids
// and titles; the other fields are there, empty, for clients that read
// them.
type Project struct {
	ID               string   `json:"id"`
	ExternalID       *string  `json:"external_id"`
	ProjectID        *string  `json:"project_id"`
	Owner            *string  `json:"owner"`
	Title            string   `json:"title"`
	Description      *string  `json:"description"`
	Category         *string  `json:"category"`
	Tags             []string `json:"tags"`
	MediaType        string   `json:"media_type"`
	IsPublic         bool     `json:"isPublic"`
	ThumbnailAssetID *string  `json:"thumbnail_asset_id"`
	CreatedDate      Time     `json:"created_date"`
	ModificationDate Time     `json:"modification_date"`
	Deleted          *bool    `json:"deleted"`
	OriginalTitle    string   `json:"original_title"`
}

// NewProject is the body that registers a project; without an ID hookd
// makes one like MediaPocket's (20 characters of [A-Za-z0-9_-]).
type NewProject struct {
	ID    string `json:"id,omitempty"`
	Title string `json:"title"`
}

// APIKey is an API key as listed: its secret is never shown again.
type APIKey struct {
	ID         int64  `json:"id"`
	KeyPrefix  string `json:"key_prefix"`
	Name       string `json:"name"`
	LastAccess *Time  `json:"last_access"`
	Role       string `json:"role"` // admin or publisher
}

// The answers about projects and API keys.
type (
	ProjectResponse struct {
		Project Project `json:"project"`
	}
	ProjectsResponse struct {
		Projects []Project `json:"projects"`
	}
	APIKeysResponse struct {
		APIKeys []APIKey `json:"api_keys"`
	}
	// APIKeyCreated carries a new key, "<prefix>.<secret>", shown only once.
	APIKeyCreated struct {
		APIKey string `json:"api_key"`
	}
)
