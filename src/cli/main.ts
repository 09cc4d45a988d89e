export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    process.stdout.write('Usage: lifeboat <command>\n');
    return 0;
  }
  return 2;
}
