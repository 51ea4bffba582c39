// Generic list and detail views, generated from the schema for every event type.
import { Box, Tooltip, Typography } from '@mui/material';
import type { ReactElement } from 'react';
import {
  Datagrid,
  DatagridConfigurable,
  DateTimeInput,
  ExportButton,
  FilterButton,
  FunctionField,
  List,
  NumberInput,
  Pagination,
  ReferenceManyField,
  SelectColumnsButton,
  SelectInput,
  Show,
  SimpleShowLayout,
  TextInput,
  TopToolbar,
  useRecordContext,
} from 'react-admin';
import { formatValue } from './format';
import { defaultColumns, label, type SchemaField, type SchemaResource } from './schema';

const mono = { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', fontSize: '0.85em' };

function valueField(f: SchemaField, sortable = true) {
  const isMono = ['ip', 'mac', 'hex', 'bytes'].includes(f.type) || /hash|ja[34]|community_id/.test(f.name);
  return (
    <FunctionField
      key={f.name}
      source={f.name}
      label={label(f.name)}
      sortable={sortable && f.type !== 'json'}
      render={(rec: Record<string, unknown>) => (
        <span style={isMono ? mono : undefined}>{formatValue(rec?.[f.name], f)}</span>
      )}
    />
  );
}

// One filter input per field, with the input that fits its type.
export function filtersFor(res: SchemaResource): ReactElement[] {
  const out: ReactElement[] = [
    <DateTimeInput key="ts_gte" source="ts_gte" label="from" alwaysOn />,
    <DateTimeInput key="ts_lte" source="ts_lte" label="until" alwaysOn />,
  ];
  for (const f of res.fields) {
    if (f.name === 'ts') continue;
    const l = label(f.name);
    switch (f.type) {
      case 'integer':
      case 'unsigned':
      case 'number':
        out.push(<NumberInput key={`${f.name}_eq`} source={`${f.name}_eq`} label={`${l} =`} />);
        out.push(<NumberInput key={`${f.name}_gte`} source={`${f.name}_gte`} label={`${l} ≥`} />);
        break;
      case 'boolean':
        out.push(
          <SelectInput
            key={`${f.name}_eq`}
            source={`${f.name}_eq`}
            label={l}
            choices={[
              { id: 'true', name: 'yes' },
              { id: 'false', name: 'no' },
            ]}
          />,
        );
        break;
      case 'enum':
        out.push(
          <SelectInput
            key={`${f.name}_eq`}
            source={`${f.name}_eq`}
            label={l}
            choices={(f.enumValues ?? []).map((v) => ({ id: v, name: v }))}
          />,
        );
        break;
      case 'timestamp':
        out.push(<DateTimeInput key={`${f.name}_gte`} source={`${f.name}_gte`} label={`${l} from`} />);
        break;
      case 'ip':
      case 'mac':
      case 'hex':
      case 'bytes':
        out.push(<TextInput key={`${f.name}_eq`} source={`${f.name}_eq`} label={l} />);
        break;
      default:
        out.push(<TextInput key={`${f.name}_like`} source={`${f.name}_like`} label={`${l} contains`} />);
    }
  }
  return out;
}

function ListActions() {
  return (
    <TopToolbar>
      <FilterButton />
      <SelectColumnsButton />
      <ExportButton maxResults={10000} />
    </TopToolbar>
  );
}

export function makeList(res: SchemaResource) {
  const shown = new Set(defaultColumns(res));
  const fields = res.fields.filter((f) => f.name !== 'id');
  const omit = fields.filter((f) => !shown.has(f.name)).map((f) => f.name);
  const ordered = [
    ...defaultColumns(res).map((n) => fields.find((f) => f.name === n)!).filter(Boolean),
    ...fields.filter((f) => !shown.has(f.name)),
  ];
  return function ResourceList() {
    return (
      <List
        resource={res.name}
        filters={filtersFor(res)}
        actions={<ListActions />}
        sort={{ field: 'ts', order: 'DESC' }}
        perPage={25}
        pagination={<Pagination rowsPerPageOptions={[10, 25, 50, 100]} />}
        empty={<EmptyState resource={res.name} />}
      >
        <DatagridConfigurable rowClick="show" omit={omit} bulkActionButtons={false} preferenceKey={`${res.name}.v1`}>
          {ordered.map((f) => valueField(f))}
        </DatagridConfigurable>
      </List>
    );
  };
}

function EmptyState({ resource }: { resource: string }) {
  return (
    <Box sx={{ p: 4, textAlign: 'center' }} data-testid="empty">
      <Typography variant="h6">No {resource} events yet</Typography>
      <Typography variant="body2" color="text.secondary">
        Events appear here as agents send them. Check the Agents page to see whether agents are connected.
      </Typography>
    </Box>
  );
}

function FieldLabel({ f }: { f: SchemaField }) {
  return (
    <Tooltip title={f.description} placement="top-start">
      <span>{label(f.name)}</span>
    </Tooltip>
  );
}

function DetailFields({ res }: { res: SchemaResource }) {
  const rec = useRecordContext();
  if (!rec) return null;
  return (
    <Box component="table" sx={{ borderCollapse: 'collapse', '& td': { py: 0.5, pr: 3, verticalAlign: 'top' } }}>
      <tbody>
        {res.fields
          .filter((f) => rec[f.name] !== undefined && rec[f.name] !== null && rec[f.name] !== '')
          .map((f) => (
            <tr key={f.name}>
              <td style={{ color: '#666', whiteSpace: 'nowrap' }}>
                <FieldLabel f={f} />
              </td>
              <td style={{ wordBreak: 'break-all' }}>{formatValue(rec[f.name], f)}</td>
            </tr>
          ))}
      </tbody>
    </Box>
  );
}

// Events that share a flow's Community ID, shown under the flow.
function Related({ all, name }: { all: SchemaResource[]; name: string }) {
  const res = all.find((r) => r.name === name);
  if (!res || !res.fields.some((f) => f.name === 'community_id')) return null;
  const cols = defaultColumns(res)
    .map((n) => res.fields.find((f) => f.name === n)!)
    .filter(Boolean);
  return (
    <Box sx={{ mt: 3 }} data-testid={`related-${name}`}>
      <Typography variant="subtitle1">{name.toUpperCase()} in this flow</Typography>
      <ReferenceManyField reference={name} target="community_id" source="community_id" perPage={50}>
        <Datagrid rowClick="show" bulkActionButtons={false} empty={<Typography variant="body2">none</Typography>}>
          {cols.map((f) => valueField(f, false))}
        </Datagrid>
      </ReferenceManyField>
    </Box>
  );
}

export function makeShow(res: SchemaResource, all: SchemaResource[]) {
  return function ResourceShow() {
    return (
      <Show resource={res.name}>
        <SimpleShowLayout>
          <DetailFields res={res} />
          {res.name === 'flow' && ['dns', 'tls', 'http', 'icmp'].map((n) => <Related key={n} all={all} name={n} />)}
        </SimpleShowLayout>
      </Show>
    );
  };
}
