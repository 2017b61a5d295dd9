package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
)

// outboxGrants says how a platform publishes through store's transactional
// outbox, and which grants its role needs; or, on SQLite, that there is
// none.
func outboxGrants(ctx context.Context, store hookd.Store) (string, error) {
	o, ok := store.(hookd.Outbox)
	if !ok {
		return "transactional outbox: none, it needs PostgreSQL (--database postgres://...): the platform's transaction must be on hookd's database", nil
	}
	schema, err := o.OutboxSchema(ctx)
	if err != nil {
		return "", err
	}
	s := pgx.Identifier{schema}.Sanitize()
	return fmt.Sprintf("transactional outbox: the platform publishes with SELECT %s.hookd_publish(event, project_id, user_id, data, id) in its transactions; its role needs only\n"+
		"  GRANT USAGE ON SCHEMA %s TO <role>;\n  GRANT EXECUTE ON FUNCTION %s.%s TO <role>;", s, s, s, hookd.OutboxFunction), nil
}
