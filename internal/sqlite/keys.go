package sqlite

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd"
)

// CreateAPIKey stores k and sets its ID (and CreatedAt when zero). A taken
// prefix is ErrConflict: prefixes are random, so the caller makes a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k *hookd.APIKey) error {
	created := hookd.Stamp(k.CreatedAt, s.clock.Now())
	res, err := s.exec(ctx, `INSERT INTO api_keys (user_id, prefix, secret_hash, name, role, created_at, last_access)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.UserID, k.Prefix, k.SecretHash, k.Name, k.Role, ms(created), nullMS(k.LastAccess))
	if isUnique(err) {
		return hookd.ErrConflict
	}
	if err != nil {
		return mapErr(err)
	}
	id, err := res.LastInsertId() // the rowid: id is its INTEGER PRIMARY KEY
	if err != nil {
		return mapErr(err)
	}
	k.ID, k.CreatedAt = id, created
	return nil
}

const apiKeyColumns = `id, user_id, prefix, secret_hash, name, role, created_at, last_access`

func scanAPIKey(sc interface{ Scan(...any) error }) (*hookd.APIKey, error) {
	var (
		k       hookd.APIKey
		created int64
		last    sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &k.UserID, &k.Prefix, &k.SecretHash, &k.Name, &k.Role, &created, &last); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastAccess = fromMS(created), timePtr(last)
	return &k, nil
}

// APIKeyByPrefix finds the key a caller presents, on every authenticated
// request, so it reads from the read pool.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*hookd.APIKey, error) {
	k, err := scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = ?`, prefix))
	if err != nil {
		return nil, mapErr(notFound(err))
	}
	return k, nil
}

// ListAPIKeys returns userID's keys in the order they were made.
func (s *Store) ListAPIKeys(ctx context.Context, userID int64) ([]*hookd.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	keys := []*hookd.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		keys = append(keys, k)
	}
	return keys, mapErr(rows.Err())
}

// DeleteAPIKey deletes key id of userID. Another user's key is ErrNotFound,
// as if it did not exist, so ids reveal nothing.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM api_keys WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}

// TouchAPIKey records that a key is being used now.
func (s *Store) TouchAPIKey(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `UPDATE api_keys SET last_access = ? WHERE id = ?`, ms(s.clock.Now()), id)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}
