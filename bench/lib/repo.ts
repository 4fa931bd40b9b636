export { repoRoot } from '../../test/integration/workerProcess';
