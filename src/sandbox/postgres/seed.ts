// The FluentEdge schema from the maintenance manual with deterministic, plausible data, so tests
// can assert exact counts and runbooks (weekly cost report, monthly user stats, alembic checks)
// have something real to read.

import type { Client } from 'pg';

export const database = 'fluentedge';

/** The schema head the seeded database reports in `alembic_version`. */
export const alembicRevision = '3f9c2a7d41be';

export const seedCounts = {
  users: 300,
  conversation_sessions: 3000,
  review_items: 2400,
  daily_stats: 300 * 30,
  api_usage_log: 6000,
} as const;

const schema = `
CREATE TABLE IF NOT EXISTS alembic_version (
  version_num varchar(32) PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  display_name text NOT NULL,
  hashed_password text NOT NULL,
  english_level text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS conversation_sessions (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  mode text NOT NULL,
  scenario text NOT NULL,
  message_count integer NOT NULL,
  overall_score numeric(5,2),
  started_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE TABLE IF NOT EXISTS review_items (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  item_type text NOT NULL,
  content text NOT NULL,
  ease_factor double precision NOT NULL DEFAULT 2.5,
  interval_days integer NOT NULL DEFAULT 1,
  repetitions integer NOT NULL DEFAULT 0,
  next_review_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS daily_stats (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  date date NOT NULL,
  practice_minutes integer NOT NULL,
  sessions_completed integer NOT NULL,
  reviews_completed integer NOT NULL,
  streak_days integer NOT NULL,
  UNIQUE (user_id, date)
);
CREATE TABLE IF NOT EXISTS api_usage_log (
  id bigserial PRIMARY KEY,
  user_id bigint REFERENCES users(id) ON DELETE SET NULL,
  api_provider text NOT NULL,
  model_name text NOT NULL,
  feature text NOT NULL,
  input_tokens integer NOT NULL,
  output_tokens integer NOT NULL,
  estimated_cost_usd double precision NOT NULL,
  latency_ms integer NOT NULL,
  created_at timestamptz NOT NULL
);
`;

// Timestamps spread over the last 90 days (users) / 30 days (activity) relative to seeding time,
// so the manual's "this week" / "this month" queries return non-empty results on any day.
const data = `
INSERT INTO alembic_version (version_num) VALUES ('${alembicRevision}');

INSERT INTO users (email, display_name, hashed_password, english_level, is_active, created_at, updated_at)
SELECT 'learner' || g || '@example.com',
       (ARRAY['Haruto','Yui','Sota','Hina','Ren','Mio','Yuto','Aoi','Riku','Sakura'])[1 + g % 10] || ' ' || g,
       '$2b$12$' || md5('pw' || g) || md5('salt' || g),
       (ARRAY['beginner','intermediate','advanced'])[1 + g % 3],
       g % 17 <> 0,
       now() - make_interval(days => 90 - (g * 90 / ${seedCounts.users})),
       now() - make_interval(hours => (g * 37) % 1000)
FROM generate_series(1, ${seedCounts.users}) AS g;

INSERT INTO conversation_sessions (user_id, mode, scenario, message_count, overall_score, started_at, ended_at)
SELECT 1 + (g * 7) % ${seedCounts.users},
       (ARRAY['free_talk','role_play','interview','debate'])[1 + g % 4],
       (ARRAY['airport','restaurant','job_interview','hotel','small_talk','meeting'])[1 + g % 6],
       4 + g % 27,
       round((55 + (g * 13) % 45)::numeric, 2),
       s.started,
       s.started + make_interval(mins => 5 + g % 25)
FROM generate_series(1, ${seedCounts.conversation_sessions}) AS g,
     LATERAL (SELECT now() - make_interval(mins => g * 14) AS started) AS s;

INSERT INTO review_items (user_id, item_type, content, ease_factor, interval_days, repetitions, next_review_at, created_at)
SELECT 1 + (g * 11) % ${seedCounts.users},
       (ARRAY['vocabulary','phrase','grammar'])[1 + g % 3],
       'item ' || g || ': ' || (ARRAY['look forward to','in charge of','as far as I know','get used to','reschedule'])[1 + g % 5],
       1.3 + (g % 13) * 0.1,
       1 + (g * 3) % 60,
       g % 8,
       now() + make_interval(hours => (g * 5) % 240 - 48),
       now() - make_interval(days => g % 60)
FROM generate_series(1, ${seedCounts.review_items}) AS g;

INSERT INTO daily_stats (user_id, date, practice_minutes, sessions_completed, reviews_completed, streak_days)
SELECT u, current_date - d, (u * 7 + d * 3) % 60, (u + d) % 4, (u * 3 + d) % 40, (u + d) % 30
FROM generate_series(1, ${seedCounts.users}) AS u, generate_series(0, 29) AS d;

INSERT INTO api_usage_log (user_id, api_provider, model_name, feature, input_tokens, output_tokens,
                           estimated_cost_usd, latency_ms, created_at)
SELECT 1 + (g * 13) % ${seedCounts.users}, m.provider, m.model,
       (ARRAY['conversation','evaluation','review_generation','translation'])[1 + g % 4],
       300 + (g * 37) % 2500, 80 + (g * 53) % 900,
       ((300 + (g * 37) % 2500) * m.in_rate + (80 + (g * 53) % 900) * m.out_rate) / 1000000.0,
       250 + (g * 97) % 4000,
       now() - make_interval(mins => g * 7)
FROM generate_series(1, ${seedCounts.api_usage_log}) AS g,
     LATERAL (SELECT * FROM (VALUES
       (0, 'azure_openai', 'gpt-4o-mini', 0.15, 0.6),
       (1, 'anthropic', 'claude-3-5-haiku', 0.8, 4.0),
       (2, 'anthropic', 'claude-sonnet-4', 3.0, 15.0),
       (3, 'aws_bedrock', 'claude-3-5-haiku', 0.8, 4.0)) AS v(k, provider, model, in_rate, out_rate)
       WHERE v.k = g % 4) AS m;

ANALYZE;
`;

/** Seeds an empty `fluentedge` database in one transaction; a no-op when alembic_version has a row. */
export async function seed(client: Client, withStatStatements: boolean): Promise<void> {
  if (withStatStatements) await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await client.query('BEGIN');
  try {
    await client.query(schema);
    const seeded = await client.query('SELECT 1 FROM alembic_version LIMIT 1');
    if (seeded.rowCount === 0) await client.query(data);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
