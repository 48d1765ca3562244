import React from "react";

type Props = { name: string };

export function Greeting({ name }: Props) {
  const upper = (s: string) => {
    return s.toUpperCase();
  };
  return <div className="greeting">{upper(name)}</div>;
}

export class Panel extends React.Component<Props> {
  render() {
    return <Greeting name={this.props.name} />;
  }
}
