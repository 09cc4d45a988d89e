/** Creates the source for a job's source config. */
import type { SourceConfig } from '../config/model.ts';
import { FilesSource } from './files/files-source.ts';
import { CommandSource } from './command/command-source.ts';
import { MysqlSource } from './mysql/mysql-source.ts';
import { PostgresSource } from './postgres/postgres-source.ts';
import { SqliteSource } from './sqlite/sqlite-source.ts';
import type { Source } from './source.ts';

export function createSource(cfg: SourceConfig): Source {
  switch (cfg.type) {
    case 'files':
      return new FilesSource(cfg);
    case 'postgres':
      return new PostgresSource(cfg);
    case 'mysql':
      return new MysqlSource(cfg);
    case 'sqlite':
      return new SqliteSource(cfg);
    case 'command':
      return new CommandSource(cfg);
  }
}
