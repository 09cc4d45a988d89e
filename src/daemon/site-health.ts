/**
 * Per site, the last error an operation met there (a backup's put, a listing), kept so that the
 * console can show why a site is red without a trip through the logs. In memory: the metrics
 * (lifeboat_site_up, lifeboat_site_errors_total) are the lasting record. Messages are the same
 * sanitised descriptions the logs carry; they never hold a secret.
 */
export interface SiteError {
  readonly at: string;
  readonly operation: string;
  readonly message: string;
}

export class SiteHealth {
  private readonly errors = new Map<string, SiteError>();

  failed(site: string, operation: string, message: string): void {
    this.errors.set(site, { at: new Date().toISOString(), operation, message });
  }

  lastError(site: string): SiteError | undefined {
    return this.errors.get(site);
  }
}
