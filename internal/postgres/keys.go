package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// API keys.

const apiKeyCols = `id, user_id, prefix, secret_hash, name, role, created_at, last_access`

func scanAPIKey(row pgx.CollectableRow) (*hookd.APIKey, error) {
	var k hookd.APIKey
	err := row.Scan(&k.ID, &k.UserID, &k.Prefix, &k.SecretHash, &k.Name, &k.Role, &k.CreatedAt, &k.LastAccess)
	return &k, err
}

// CreateAPIKey stores k and sets its ID (and CreatedAt when zero). A taken
// prefix is ErrConflict.
func (s *Store) CreateAPIKey(ctx context.Context, k *hookd.APIKey) error {
	created := hookd.Stamp(k.CreatedAt, s.clock.Now())
	err := s.pool.QueryRow(ctx, `
		INSERT INTO api_keys (user_id, prefix, secret_hash, name, role, created_at, last_access)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		k.UserID, k.Prefix, k.SecretHash, k.Name, k.Role, created, msPtr(k.LastAccess)).Scan(&k.ID)
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("api key prefix %q: %w", k.Prefix, hookd.ErrConflict)
	}
	if err != nil {
		return wrapErr(err)
	}
	k.CreatedAt = created
	k.LastAccess = msPtr(k.LastAccess)
	return nil
}

// APIKeyByPrefix finds the key with prefix.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*hookd.APIKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE prefix = $1`, prefix)
	k, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	if err != nil {
		return nil, wrapErr(err)
	}
	return k, nil
}

// ListAPIKeys lists userID's keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID int64) ([]*hookd.APIKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE user_id = $1 ORDER BY id`, userID)
	keys, err := pgx.CollectRows(rows, scanAPIKey)
	return keys, wrapErr(err)
}

// DeleteAPIKey deletes userID's key id.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_keys WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("api key %d: %w", id, hookd.ErrNotFound)
	}
	return nil
}

// TouchAPIKey records that key id is being used now.
func (s *Store) TouchAPIKey(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_access = $2 WHERE id = $1`, id, s.clock.Now())
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("api key %d: %w", id, hookd.ErrNotFound)
	}
	return nil
}

// Projects.

const projectCols = `id, title, created_at, updated_at`

func scanProject(row pgx.CollectableRow) (*hookd.Project, error) {
	var p hookd.Project
	err := row.Scan(&p.ID, &p.Title, &p.CreatedAt, &p.UpdatedAt)
	return &p, err
}

// CreateProject registers p. The id is the caller's (MediaPocket's project
// id): an empty one is refused rather than invented here; an existing one
// is ErrConflict.
func (s *Store) CreateProject(ctx context.Context, p *hookd.Project) error {
	if p.ID == "" {
		return errors.New("postgres: a project needs an id")
	}
	created, updated := hookd.Stamps(p.CreatedAt, p.UpdatedAt, s.clock.Now())
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO projects (id, title, created_at, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, p.ID, p.Title, created, updated)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("project %q: %w", p.ID, hookd.ErrConflict)
	}
	p.CreatedAt, p.UpdatedAt = created, updated
	return nil
}

// Project finds the registered project id.
func (s *Store) Project(ctx context.Context, id string) (*hookd.Project, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+projectCols+` FROM projects WHERE id = $1`, id)
	p, err := pgx.CollectExactlyOneRow(rows, scanProject)
	if err != nil {
		return nil, wrapErr(err)
	}
	return p, nil
}

// ListProjects lists a page of the registry, oldest first
// (hookd.ProjectFilter): a seek of projects_created from the cursor, never
// a sort of the whole registry. Ids compare by their bytes (COLLATE "C"),
// as on SQLite, so that both stores break ties of created_at alike; the
// search ignores the case of ASCII letters, and only theirs, as SQLite's
// LIKE does (foldASCII). The cursor's project and the page are read in one
// snapshot.
func (s *Store) ListProjects(ctx context.Context, f hookd.ProjectFilter) ([]*hookd.Project, error) {
	var out []*hookd.Project
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var args []any
		arg := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		conds := []string{"true"}
		if f.Query != "" {
			pattern := foldASCII(arg(hookd.SearchPattern(f.Query)) + "::text")
			conds = append(conds, `(`+foldASCII("id")+` LIKE `+pattern+` ESCAPE '\' OR `+foldASCII("title")+` LIKE `+pattern+` ESCAPE '\')`)
		}
		if f.After != "" {
			var afterAt time.Time
			if err := tx.QueryRow(ctx, `SELECT created_at FROM projects WHERE id = $1`, f.After).Scan(&afterAt); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("project %q: %w", f.After, hookd.ErrNotFound)
				}
				return err
			}
			conds = append(conds, `(created_at, id COLLATE "C") > (`+arg(afterAt)+`, `+arg(f.After)+` COLLATE "C")`)
		}
		rows, _ := tx.Query(ctx, `SELECT `+projectCols+` FROM projects WHERE `+strings.Join(conds, " AND ")+`
			ORDER BY created_at, id COLLATE "C" LIMIT `+arg(f.Limit), args...)
		var err error
		out, err = pgx.CollectRows(rows, scanProject)
		return err
	})
	if err != nil {
		return nil, wrapErr(err)
	}
	return out, nil
}

// DeleteProject removes id from the registry. Webhooks scoped to it stay.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
	if err != nil {
		return wrapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("project %q: %w", id, hookd.ErrNotFound)
	}
	return nil
}
