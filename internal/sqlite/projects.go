package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/hookd/hookd"
)

// CreateProject registers p. The id is the caller's (MediaPocket's project
// id); an empty id is refused rather than invented here.
func (s *Store) CreateProject(ctx context.Context, p *hookd.Project) error {
	if p.ID == "" {
		return errors.New("sqlite: a project needs an id")
	}
	created, updated := hookd.Stamps(p.CreatedAt, p.UpdatedAt, s.clock.Now())
	_, err := s.exec(ctx, `INSERT INTO projects (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.Title, ms(created), ms(updated))
	if isUnique(err) {
		return hookd.ErrConflict
	}
	if err != nil {
		return mapErr(err)
	}
	p.CreatedAt, p.UpdatedAt = created, updated
	return nil
}

func scanProject(sc interface{ Scan(...any) error }) (*hookd.Project, error) {
	var (
		p                hookd.Project
		created, updated int64
	)
	if err := sc.Scan(&p.ID, &p.Title, &created, &updated); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
	return &p, nil
}

// Project returns a registered project.
func (s *Store) Project(ctx context.Context, id string) (*hookd.Project, error) {
	p, err := scanProject(s.r.QueryRowContext(ctx, `SELECT id, title, created_at, updated_at FROM projects WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr(notFound(err))
	}
	return p, nil
}

// ListProjects lists a page of the registry, oldest first
// (hookd.ProjectFilter): a seek of projects_created from the cursor, never
// a sort of the whole registry. LIKE ignores the case of ASCII letters,
// and only theirs.
func (s *Store) ListProjects(ctx context.Context, f hookd.ProjectFilter) ([]*hookd.Project, error) {
	out := []*hookd.Project{}
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		conds, args := []string{"true"}, []any{}
		if f.Query != "" {
			pattern := hookd.SearchPattern(f.Query)
			conds = append(conds, `(id LIKE ? ESCAPE '\' OR title LIKE ? ESCAPE '\')`)
			args = append(args, pattern, pattern)
		}
		if f.After != "" {
			var afterAt int64
			err := tx.QueryRowContext(ctx, `SELECT created_at FROM projects WHERE id = ?`, f.After).Scan(&afterAt)
			if err != nil {
				return notFound(err)
			}
			conds = append(conds, `(created_at, id) > (?, ?)`)
			args = append(args, afterAt, f.After)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, title, created_at, updated_at FROM projects
			WHERE `+strings.Join(conds, " AND ")+` ORDER BY created_at, id LIMIT ?`, append(args, f.Limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanProject(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteProject removes a project from the registry. Webhooks scoped to it
// are left as they are (with their logs): the registry only decides which
// project ids a webhook may be given.
func (s *Store) DeleteProject(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM projects WHERE id = ?`, id)
	if err != nil {
		return mapErr(err)
	}
	return mapErr(affected(res))
}
