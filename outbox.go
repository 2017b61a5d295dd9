package hookd

import "context"

// The transactional outbox (README: Publishing inside your transaction): a
// platform on PostgreSQL publishes events in its own transaction, as rows
// of hookd's outbox; a relay takes the committed rows into the queue.

// OutboxPublisherKeyID is the publisher of every event taken from the
// outbox (Event.PublisherKeyID): the outbox is one publisher, so an id sent
// again through the outbox is a repeat (Republish) and stores nothing,
// while an id that an API key published is refused. No API key has this
// id.
const OutboxPublisherKeyID int64 = -1

// MaxOutboxData bounds the data of an event taken from the outbox, as the
// API bounds a request's body: the relay does not read a larger row's data
// (outbox.data_bytes, migration 0026, tells its size), and sets the row
// aside.
const MaxOutboxData = 1 << 20

// OutboxTextChars is how much the relay reads of each text column of an
// outbox row (id, event, project_id), in characters: more than any value
// the intake accepts (an id has at most 255 characters, a project id 64, an
// event name fewer), so that a longer value, cut there, is still refused
// by the intake's rules, and a row of huge values costs no more to take
// than a valid one.
const OutboxTextChars = 256

// OutboxRow is one event as a platform wrote it to the outbox, not checked
// yet. Seq orders the rows. ID, Event and ProjectID hold at most
// OutboxTextChars characters of their columns.
type OutboxRow struct {
	Seq       int64
	ID        *string
	Event     string
	ProjectID *string
	UserID    *int64
	Data      []byte // JSON text as written; nil for none, or when over MaxOutboxData
	DataBytes int    // the size of the data as written
}

// OutboxRelayed is what one RelayOutbox call did.
type OutboxRelayed struct {
	Rows      int         // rows taken from the outbox
	More      bool        // more rows may wait: the call took as many as it could
	Published []Published // their events, duplicates included
	Rejected  []OutboxRejection
}

// OutboxRejection is a row the relay could not publish, set aside with its
// reason so that the rows behind it go on.
type OutboxRejection struct {
	Row    OutboxRow
	Reason string
}

// Outbox is implemented by stores that hold an outbox (postgres.Store).
type Outbox interface {
	// RelayOutbox takes up to limit committed rows of the outbox, oldest
	// first, once the relay before it (in any process) has ended, and in one
	// transaction publishes their events as PublishEvents does (with
	// OutboxPublisherKeyID as publisher) and deletes the rows, so that each
	// row is published exactly once. check turns a row into the event to
	// publish, or refuses it: the row is then kept aside with check's error
	// as its reason, as is a row whose id another publisher took or whose
	// event Event.Normalize refuses; a row never fails the others. ctx's
	// deadline also bounds the transaction on the database's side, so that
	// a relay that stops midway (a frozen process, a cut network) gives its
	// turn up by then.
	RelayOutbox(ctx context.Context, limit int, check func(OutboxRow) (*Event, error)) (OutboxRelayed, error)
	// OutboxWakeup delivers a value when rows may have been committed to
	// the outbox.
	OutboxWakeup() <-chan struct{}
	// OutboxSchema names the schema that holds the outbox and its
	// function, hookd_publish, which platforms call by that name.
	OutboxSchema(ctx context.Context) (string, error)
}

// OutboxFunction is the signature of version 1 of the publishing function,
// as GRANT EXECUTE names it.
const OutboxFunction = "hookd_publish(text, text, bigint, json, text)"
